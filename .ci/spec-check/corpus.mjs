// The official @asyncapi/parser's verdict on every document of tests/corpus,
// checked against tests/corpus/manifest.json (whose `official` fields the
// Rust corpus test compares specserve's loader with). `--write` records them.
// Documents are parsed from their files so relative `$ref`s resolve.
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Parser, fromFile } from '@asyncapi/parser';

const root = join(import.meta.dirname, '..', '..', 'tests', 'corpus');
const manifestPath = join(root, 'manifest.json');
const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
const parser = new Parser();
let mismatches = 0;
for (const doc of manifest.documents) {
  const { document, diagnostics } = await fromFile(parser, join(root, doc.path)).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  // A document whose only errors are remote references that cannot be fetched
  // (CI has no network) gets its own verdict: valid online, unusable offline.
  const remote = errors.length > 0 && errors.every((d) => d.code === 'invalid-ref' && /FetchError/.test(d.message));
  const verdict = document && errors.length === 0 ? 'valid' : remote ? 'remote-refs' : 'invalid';
  const reason = errors[0] && !remote ? `${errors[0].code}: ${errors[0].message}` : undefined;
  if (process.argv.includes('--write')) {
    doc.official = verdict;
    if (reason) doc.official_reason = reason; else delete doc.official_reason;
  } else if (doc.official !== verdict) {
    mismatches += 1;
    console.error(`${doc.path}: the manifest says ${doc.official}, @asyncapi/parser says ${verdict}${reason ? ` (${reason})` : ''}`);
  }
}
if (process.argv.includes('--write')) {
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  console.log(`corpus: wrote ${relative(process.cwd(), manifestPath)}`);
} else if (mismatches > 0) {
  process.exit(1);
} else {
  console.log(`corpus: @asyncapi/parser agrees with the manifest on ${manifest.documents.length} documents`);
}
