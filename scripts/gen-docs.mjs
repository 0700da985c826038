#!/usr/bin/env node
// Writes docs/modules.md and docs/roles.md from the modules' schemas and prose (runner/modules/docs.ts) and the
// roles' meta/argument_specs.yml, through the same renderer as `meshplay doc`. Run after `npm run build`;
// test/doc.test.ts fails when the committed files differ from what this writes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { generateDocs } = await import(join(root, 'dist', 'runner', 'doc', 'generate.js'));
const files = await generateDocs(root);
mkdirSync(join(root, 'docs'), { recursive: true });
for (const [name, text] of Object.entries(files)) {
  writeFileSync(join(root, name), text);
  console.log(`wrote ${name}`);
}
