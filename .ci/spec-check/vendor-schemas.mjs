// Writes codegen/asyncapi-schemas/: the official AsyncAPI JSON Schemas (from
// @asyncapi/specs, the package @asyncapi/parser validates documents with)
// for 2.0.0 to 3.1.0, with their annotations (descriptions, titles, examples)
// removed, so specserve's loader checks documents against the very schemas
// the official parser does. Run after changing the @asyncapi/parser version;
// `--check` (run by `npm run check`) fails if the vendored copies are stale.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const specs = join(import.meta.dirname, 'node_modules', '@asyncapi', 'specs');
const out = join(import.meta.dirname, '..', '..', 'codegen', 'asyncapi-schemas');
const versions = ['2.0.0', '2.1.0', '2.2.0', '2.3.0', '2.4.0', '2.5.0', '2.6.0', '3.0.0', '3.1.0'];
const annotation = new Set(['description', 'title', 'examples', '$comment']);

// An annotation is a string or list under one of those keys; a schema
// *named* `description` (a property) is an object and stays.
function strip(value) {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value)
      .filter(([key, v]) => !(annotation.has(key) && (typeof v === 'string' || Array.isArray(v))))
      .map(([key, v]) => [key, strip(v)]));
  }
  return value;
}

const check = process.argv.includes('--check');
const { version } = JSON.parse(await readFile(join(specs, 'package.json'), 'utf8'));
const files = [[
  'SOURCE',
  `@asyncapi/specs ${version} (Apache-2.0), schemas/<version>-without-$id.json, annotations removed by .ci/spec-check/vendor-schemas.mjs\n`,
]];
for (const v of versions) {
  const schema = JSON.parse(await readFile(join(specs, 'schemas', `${v}-without-$id.json`), 'utf8'));
  files.push([`${v}.json`, JSON.stringify(strip(schema)) + '\n']);
}
let stale = 0;
for (const [name, text] of files) {
  if (!check) {
    await writeFile(join(out, name), text);
  } else if ((await readFile(join(out, name), 'utf8').catch(() => '')) !== text) {
    console.error(`vendor-schemas: codegen/asyncapi-schemas/${name} differs from @asyncapi/specs ${version}: run node vendor-schemas.mjs`);
    stale += 1;
  }
}
if (stale > 0) process.exit(1);
console.log(`vendor-schemas: ${versions.length} schemas from @asyncapi/specs ${version}${check ? ' match' : ' written'}`);
