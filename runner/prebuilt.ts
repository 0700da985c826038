// Validators compiled at build time (scripts/build-validators.mjs → dist/generated/), used only when the
// schema they were built from is the schema in use; otherwise callers compile with Ajv at run time.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const loaded = new Map<string, Record<string, unknown> | null>();

function generated(file: string): Record<string, unknown> | null {
  if (!loaded.has(file)) {
    try {
      // dist/runner/prebuilt.js → dist/generated/<file>
      loaded.set(file, require(`../generated/${file}`) as Record<string, unknown>);
    } catch {
      loaded.set(file, null);
    }
  }
  return loaded.get(file)!;
}

export function prebuiltValidator<T>(file: string, name: string, schemaText: string): T | undefined {
  const mod = generated(file);
  if (!mod || typeof mod[name] !== 'function') return undefined;
  const digest = createHash('sha256').update(schemaText).digest('hex');
  const expected = name === 'validate' ? mod.digest : (mod.digests as Record<string, string> | undefined)?.[name];
  return expected === digest ? (mod[name] as T) : undefined;
}
