// Role argument specs (meta/argument_specs.yml, Ansible's format): reading them, checking a role's inputs
// against them before anything runs, and finding probable misspellings of role variables.
// Ansible validates at the start of each role, on each host; meshplay checks every value it can know before the
// run (inventory, play and role vars, role params, -e) and leaves templated values to run time.
import type { Problem } from '../errors.js';
import type { SourceFile, SourcePosition, PathSegment } from '../yaml/source.js';

export type SpecType = 'str' | 'int' | 'float' | 'bool' | 'list' | 'dict' | 'path' | 'raw';
const TYPES: SpecType[] = ['str', 'int', 'float', 'bool', 'list', 'dict', 'path', 'raw'];
const TYPE_ALIASES: Record<string, SpecType> = { string: 'str', integer: 'int', boolean: 'bool', dictionary: 'dict' };

export interface OptionSpec {
  type: SpecType;
  required: boolean;
  default?: unknown;
  choices?: unknown[];
  elements?: SpecType;
  options?: Record<string, OptionSpec>;
  description: string;
}

export interface EntryPointSpec {
  short_description?: string;
  description?: string;
  options: Record<string, OptionSpec>;
}

export type ArgumentSpecs = Record<string, EntryPointSpec>;

const OPTION_KEYS = new Set(['type', 'required', 'default', 'choices', 'elements', 'options', 'description', 'version_added', 'aliases', 'no_log']);
const ENTRY_KEYS = new Set(['short_description', 'description', 'author', 'options', 'version_added']);

export function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptionText(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join(' ') : typeof v === 'string' ? v : '';
}

/** Reads and checks the spec file itself; problems point into it. */
export function readArgumentSpecs(src: SourceFile, root: unknown, basePath: PathSegment[]): { specs: ArgumentSpecs; problems: Problem[] } {
  const problems: Problem[] = [];
  const specs: ArgumentSpecs = {};
  if (!isDict(root)) {
    problems.push(src.problem(basePath, 'argument_specs must be a mapping of entry points', 'argument_specs: {main: {options: {...}}}'));
    return { specs, problems };
  }
  const option = (raw: unknown, path: PathSegment[]): OptionSpec | undefined => {
    if (!isDict(raw)) {
      problems.push(src.problem(path, 'an option spec must be a mapping', 'type, required, default, choices, description'));
      return undefined;
    }
    for (const k of Object.keys(raw)) if (!OPTION_KEYS.has(k)) problems.push(src.problem([...path, k], `unknown option spec key '${k}'`, [...OPTION_KEYS].join(', '), true));
    const typeName = raw.type === undefined ? 'str' : String(raw.type);
    const type = (TYPE_ALIASES[typeName] ?? typeName) as SpecType;
    if (!TYPES.includes(type)) problems.push(src.problem([...path, 'type'], `unknown type '${typeName}'`, TYPES.join(', ')));
    const elementsName = raw.elements === undefined ? undefined : String(raw.elements);
    const elements = elementsName === undefined ? undefined : ((TYPE_ALIASES[elementsName] ?? elementsName) as SpecType);
    if (elements !== undefined && !TYPES.includes(elements)) problems.push(src.problem([...path, 'elements'], `unknown elements type '${elementsName}'`, TYPES.join(', ')));
    if (raw.choices !== undefined && !Array.isArray(raw.choices)) problems.push(src.problem([...path, 'choices'], 'choices must be a list'));
    let options: Record<string, OptionSpec> | undefined;
    if (raw.options !== undefined) {
      if (!isDict(raw.options)) problems.push(src.problem([...path, 'options'], 'options must be a mapping'));
      else {
        options = {};
        for (const [k, v] of Object.entries(raw.options)) {
          const o = option(v, [...path, 'options', k]);
          if (o) options[k] = o;
        }
      }
    }
    return {
      type: TYPES.includes(type) ? type : 'raw',
      required: raw.required === true,
      ...(raw.default !== undefined ? { default: raw.default } : {}),
      ...(Array.isArray(raw.choices) ? { choices: raw.choices } : {}),
      ...(elements && TYPES.includes(elements) ? { elements } : {}),
      ...(options ? { options } : {}),
      description: descriptionText(raw.description),
    };
  };
  for (const [entry, raw] of Object.entries(root)) {
    const path = [...basePath, entry];
    if (!isDict(raw)) {
      problems.push(src.problem(path, `entry point '${entry}' must be a mapping`, 'short_description, description, options'));
      continue;
    }
    for (const k of Object.keys(raw)) if (!ENTRY_KEYS.has(k)) problems.push(src.problem([...path, k], `unknown entry point key '${k}'`, [...ENTRY_KEYS].join(', '), true));
    const options: Record<string, OptionSpec> = {};
    if (raw.options !== undefined && !isDict(raw.options)) problems.push(src.problem([...path, 'options'], 'options must be a mapping'));
    else for (const [k, v] of Object.entries(raw.options ?? {})) {
      const o = option(v, [...path, 'options', k]);
      if (o) options[k] = o;
    }
    specs[entry] = {
      ...(raw.short_description !== undefined ? { short_description: descriptionText(raw.short_description) } : {}),
      ...(raw.description !== undefined ? { description: descriptionText(raw.description) } : {}),
      options,
    };
  }
  return { specs, problems };
}

const TRUE_STRINGS = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE_STRINGS = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** Whether a value is still a template (its real value is known only at run time). */
export function isTemplated(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('{{') || v.includes('{%');
  if (Array.isArray(v)) return v.some(isTemplated);
  if (isDict(v)) return Object.values(v).some(isTemplated);
  return false;
}

/**
 * Why `value` does not fit `spec`, or undefined when it does. Conversions follow Ansible's
 * (module_utils/common/validation.py): a str accepts numbers and booleans, an int accepts a string of digits,
 * a bool accepts yes/no/on/off/true/false/1/0, a list accepts a comma-separated string or a scalar, a dict
 * accepts JSON text or k=v pairs.
 */
export function typeMismatch(value: unknown, spec: Pick<OptionSpec, 'type' | 'elements' | 'options' | 'choices'>, name: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (isTemplated(value)) return undefined;
  let converted: unknown = value;
  switch (spec.type) {
    case 'raw':
      break;
    case 'str':
    case 'path':
      if (isDict(value) || Array.isArray(value)) return `${name} must be a string, got ${describe(value)}`;
      converted = String(value);
      break;
    case 'int':
      if (typeof value === 'number' && Number.isInteger(value)) break;
      if (typeof value === 'string' && /^[-+]?\d+$/.test(value.trim())) {
        converted = Number(value);
        break;
      }
      return `${name} must be an int, got ${describe(value)}`;
    case 'float':
      if (typeof value === 'number') break;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) {
        converted = Number(value);
        break;
      }
      return `${name} must be a float, got ${describe(value)}`;
    case 'bool':
      if (typeof value === 'boolean') break;
      if ((typeof value === 'string' || typeof value === 'number') && (TRUE_STRINGS.has(String(value).toLowerCase()) || FALSE_STRINGS.has(String(value).toLowerCase()))) break;
      return `${name} must be a bool, got ${describe(value)}`;
    case 'list':
      if (Array.isArray(value)) break;
      if (typeof value === 'string') converted = value.split(',');
      else if (typeof value === 'number') converted = [String(value)];
      else return `${name} must be a list, got ${describe(value)}`;
      break;
    case 'dict':
      if (isDict(value)) break;
      if (typeof value === 'string') {
        const text = value.trim();
        if (text.startsWith('{')) {
          try {
            converted = JSON.parse(text);
            break;
          } catch {
            return `${name} must be a dict, got a string that is not JSON`;
          }
        }
        if (/^\s*\w+=/.test(text)) break;
      }
      return `${name} must be a dict, got ${describe(value)}`;
  }
  if (spec.choices && !spec.choices.some((c) => c === converted || String(c) === String(converted))) {
    return `${name} must be one of ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(value)}`;
  }
  if (spec.type === 'list' && spec.elements && Array.isArray(converted)) {
    for (let i = 0; i < converted.length; i++) {
      const m = typeMismatch(converted[i], { type: spec.elements, options: spec.options }, `${name}[${i}]`);
      if (m) return m;
    }
  }
  const sub = spec.options;
  if (sub && isDict(converted) && spec.type === 'dict') return optionsMismatch(converted, sub, name);
  if (sub && spec.type === 'list' && spec.elements === 'dict' && Array.isArray(converted)) {
    for (let i = 0; i < converted.length; i++) {
      if (!isDict(converted[i])) continue;
      const m = optionsMismatch(converted[i] as Record<string, unknown>, sub, `${name}[${i}]`);
      if (m) return m;
    }
  }
  return undefined;
}

function optionsMismatch(value: Record<string, unknown>, options: Record<string, OptionSpec>, name: string): string | undefined {
  for (const [k, o] of Object.entries(options)) {
    if (o.required && value[k] === undefined) return `${name}.${k} is required`;
    const m = typeMismatch(value[k], o, `${name}.${k}`);
    if (m) return m;
  }
  const unknown = Object.keys(value).filter((k) => !(k in options));
  if (unknown.length) return `${name} has unsupported parameters: ${unknown.join(', ')} (supported: ${Object.keys(options).join(', ')})`;
  return undefined;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isDict(v)) return 'a dict';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Where a variable's value came from, for the message. */
export interface ValueSource {
  value: unknown;
  /** e.g. "role parameter", "play vars", "inventory", "-e". */
  origin: string;
  position?: SourcePosition;
}

export function positioned(p: Omit<Problem, 'file' | 'line' | 'column'>, at?: SourcePosition): Problem {
  return at ? { ...at, ...p } : p;
}
