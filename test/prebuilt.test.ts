// Validators compiled at build time are used only for the exact schema they came from.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { prebuiltValidator } from '../runner/prebuilt.js';
import { inventorySchemaPath } from '../runner/inventory/schema.js';
import { loadModule, moduleNames } from '../runner/modules/index.js';

t.test('the build generated a validator for the inventory schema and every module, matched by digest', async (t) => {
  const text = readFileSync(inventorySchemaPath(), 'utf8');
  const v = prebuiltValidator<(d: unknown) => boolean>('inventory-validator.cjs', 'validate', text);
  t.type(v, 'function', 'inventory validator prebuilt (npm run build runs scripts/build-validators.mjs)');
  t.equal(v!({ clusters: [{ name: 'a', istio_control_plane: true, nodes: [] }] }), true);
  t.equal(v!({ clusters: [{ name: 'a', whne: 1 }] }), false);
  t.equal(prebuiltValidator('inventory-validator.cjs', 'validate', text + ' '), undefined, 'a changed schema is not served stale');
  for (const name of moduleNames()) {
    const mod = await loadModule(name);
    t.type(prebuiltValidator('module-validators.cjs', name, JSON.stringify(mod.schema)), 'function', `${name} arguments prebuilt`);
  }
});
