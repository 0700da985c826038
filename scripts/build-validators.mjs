#!/usr/bin/env node
// Build step after tsc: compiles the JSON Schemas meshplay validates against (the inventory schema and every
// module's argument schema) into plain JavaScript with Ajv's standalone mode, so a run does not spend its
// start-up compiling them. The engine falls back to compiling at run time when these files are missing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';

// The engine uses a generated validator only when the schema it was built from is the one in use.
const digest = (text) => createHash('sha256').update(text).digest('hex');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'generated');
mkdirSync(out, { recursive: true });

// Same options as runner/inventory/schema.ts.
const inventoryAjv = new Ajv({ allErrors: true, strict: true, verbose: true, code: { source: true } });
const inventoryText = readFileSync(join(root, 'schemas', 'inventory.schema.json'), 'utf8');
inventoryAjv.addSchema(JSON.parse(inventoryText), 'inventory');
writeFileSync(
  join(out, 'inventory-validator.cjs'),
  standaloneCode.default(inventoryAjv, { validate: 'inventory' }) + `\nmodule.exports.digest = ${JSON.stringify(digest(inventoryText))};\n`,
);

// Same options as argsValidator in runner/modules/index.ts.
const { moduleNames, loadModule } = await import(join(root, 'dist', 'runner', 'modules', 'index.js'));
const argsAjv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
const exportsMap = {};
const digests = {};
for (const name of moduleNames()) {
  const mod = await loadModule(name);
  argsAjv.addSchema(mod.schema, `args:${name}`);
  exportsMap[name] = `args:${name}`;
  digests[name] = digest(JSON.stringify(mod.schema));
}
writeFileSync(
  join(out, 'module-validators.cjs'),
  standaloneCode.default(argsAjv, exportsMap) + `\nmodule.exports.digests = ${JSON.stringify(digests)};\n`,
);
console.log(`validators: inventory + ${Object.keys(exportsMap).length} module argument schemas compiled`);
