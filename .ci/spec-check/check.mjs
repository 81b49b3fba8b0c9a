// Validates an AsyncAPI document with the official @asyncapi/parser and fails on
// any diagnostic of severity error (0) or warning (1): the spec must be clean.
import { readFile } from 'node:fs/promises';
import { Parser } from '@asyncapi/parser';

const path = process.argv[2] ?? 'asyncapi.yaml';
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(path, 'utf8'));
const severities = ['error', 'warning', 'info', 'hint'];
let failed = 0;
for (const d of diagnostics) {
  const where = d.path.join('.');
  console.log(`${severities[d.severity]} ${d.code} at ${where || '(root)'}: ${d.message}`);
  if (d.severity <= 1) failed += 1;
}
if (!document || failed > 0) {
  console.error(`spec-check: ${path}: ${failed} error(s)/warning(s)`);
  process.exit(1);
}
const ops = document.operations().all().length;
const msgs = document.allMessages().all().length;
console.log(`spec-check: ${path}: valid AsyncAPI ${document.version()}, ${ops} operations, ${msgs} messages`);
