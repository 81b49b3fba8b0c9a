// Cross-check with the official toolchain: @asyncapi/modelina generates
// TypeScript models from asyncapi.yaml, and they must compile under
// `tsc --strict`. A spec modelina cannot model, or models into code that does
// not type-check, would fail every client author who uses the official tools.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TypeScriptFileGenerator } from '@asyncapi/modelina';

const path = process.argv[2] ?? 'asyncapi.yaml';
// modelina 5.10 reads AsyncAPI 3.0 only: a 3.1 document (3.1 adds nothing
// asyncapi.yaml uses) is handed over as 3.0, else it yields one empty `Root`.
const spec = (await readFile(path, 'utf8')).replace(/^asyncapi: ['"]?3\.1\.\d+['"]?$/m, 'asyncapi: 3.0.0');
const out = await mkdtemp(join(tmpdir(), 'specserve-modelina-'));
try {
  const generator = new TypeScriptFileGenerator({ modelType: 'interface', enumType: 'union' });
  const models = await generator.generateToFiles(spec, out, { exportType: 'named' }, true);
  if (models.length < 2) throw new Error(`modelina modelled nothing of ${path} (${models.map((m) => m.modelName).join(', ')})`);
  const files = models.map((model) => join(out, `${model.modelName}.ts`));
  await writeFile(join(out, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ES2022', moduleResolution: 'Bundler' },
    files,
  }));
  const tsc = join(import.meta.dirname, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', join(out, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (error) {
    console.error(String(error.stdout ?? ''), String(error.stderr ?? ''));
    throw new Error(`modelina's models of ${path} do not compile under tsc --strict`);
  }
  const names = models.map((model) => model.modelName).sort();
  console.log(`modelina: ${path}: ${models.length} TypeScript models compile under tsc --strict (${names.join(', ')})`);
} finally {
  await rm(out, { recursive: true, force: true });
}
