// Shape validation of one inventory file against schemas/inventory.schema.json, with ajv's errors
// turned into plain sentences that point at the offending key or value.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Problem } from '../errors.js';
import { pointerToPath, type PathSegment, type SourceFile } from '../yaml/source.js';
import { prebuiltValidator } from '../prebuilt.js';

export const NAME_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

let validator: ValidateFunction | undefined;

/** schemas/ lives at the repository root; this module runs from runner/inventory or dist/runner/inventory. */
export function inventorySchemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'schemas', 'inventory.schema.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('schemas/inventory.schema.json not found above ' + dirname(fileURLToPath(import.meta.url)));
}

/** Without a prebuilt validator (a build without scripts/build-validators.mjs): load Ajv only then. */
function compileAtRunTime(schemaText: string): ValidateFunction {
  const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  return new Ajv({ allErrors: true, strict: true, verbose: true }).compile(JSON.parse(schemaText));
}

function compiled(): ValidateFunction {
  if (!validator) {
    const text = readFileSync(inventorySchemaPath(), 'utf8');
    validator = prebuiltValidator<ValidateFunction>('inventory-validator.cjs', 'validate', text) ?? compileAtRunTime(text);
  }
  return validator;
}

/** Problems with the shape of one parsed inventory file (empty when it conforms). */
export function validateInventoryShape(src: SourceFile, value: unknown): Problem[] {
  const validate = compiled();
  if (validate(value)) return [];
  const problems: Problem[] = [];
  const seenNames = new Set<string>();
  for (const e of validate.errors ?? []) {
    // if/then/else (a node item or a from_api item) reports the chosen branch's errors, then this summary.
    if (e.keyword === 'if') continue;
    // A bad name can break both its pattern and its length: say it once.
    if (e.schemaPath.startsWith('#/definitions/name/')) {
      if (seenNames.has(e.instancePath)) continue;
      seenNames.add(e.instancePath);
    }
    problems.push(translate(src, e));
  }
  return problems;
}

function translate(src: SourceFile, e: ErrorObject): Problem {
  const path = pointerToPath(e.instancePath);
  const where = label(path);
  const title = (e.parentSchema as { title?: string } | undefined)?.title ?? where;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {});
      return src.problem([...path, key], `unknown key '${key}' in ${title}`, `one of: ${allowed.join(', ')}`, true);
    }
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return src.problem(path, `missing required key '${key}' in ${title}`);
    }
    case 'type': {
      if (path[path.length - 1] === 'nodes' && path.length === 3) {
        return src.problem(path, `wrong type for ${where}: expected list or from_api, got ${typeOf(e.data)}`, 'a list of nodes ({name, address}), or from_api to read them from the API');
      }
      const want = (e.params as { type: string | string[] }).type;
      const wanted = (Array.isArray(want) ? want : [want]).map(yamlType).join(' or ');
      return src.problem(path, `wrong type for ${where}: expected ${wanted}, got ${typeOf(e.data)}`);
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      return src.problem(path, `invalid value '${String(e.data)}' for ${where}`, `one of: ${allowed.join(', ')}`);
    }
    case 'minItems':
      if (path.length === 1 && path[0] === 'clusters') return src.problem(path, 'the inventory lists no clusters', 'at least one cluster');
      break;
    case 'minLength':
      return src.problem(path, `${where} is empty`, 'a non-empty string');
  }
  if (e.schemaPath.startsWith('#/definitions/name/')) {
    const kind = path[path.length - 3] === 'nodes' ? 'node' : 'cluster';
    return src.problem(path, `${kind} name '${String(e.data)}' is not a valid DNS-1123 label`, NAME_RULE);
  }
  if (e.keyword === 'pattern' && path[path.length - 1] === 'url') {
    return src.problem(path, `${where} '${String(e.data)}' is not an http(s) URL`, 'a URL such as https://10.0.0.1:6443');
  }
  if (e.keyword === 'const' && path[path.length - 1] === 'nodes') {
    return src.problem(path, `wrong type for ${where}: expected list or from_api, got string '${String(e.data)}'`, 'a list of nodes ({name, address}), or from_api to read them from the API');
  }
  if (e.keyword === 'pattern' && path[path.length - 1] === 'private_key_passphrase_env') {
    return src.problem(path, `${where} '${String(e.data)}' is not an environment variable name`, 'the NAME of a variable holding the passphrase');
  }
  if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].includes(e.keyword)) {
    return src.problem(path, `${where} is out of range: ${String(e.data)}`, `a value that ${e.message ?? ''}`.trim());
  }
  return src.problem(path, `${where} ${e.message ?? 'is invalid'}`);
}

/** `clusters[0].nodes[1].address`; the root is "the inventory". */
export function label(path: readonly PathSegment[]): string {
  if (!path.length) return 'the inventory';
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function yamlType(t: string): string {
  return t === 'object' ? 'mapping' : t === 'array' ? 'list' : t;
}

export function typeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}
