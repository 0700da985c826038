// Renders module and role documentation, as text (`meshplay doc`, like ansible-doc) and as Markdown
// (docs/modules.md, docs/roles.md). Types, choices and `required` come from each module's schema; prose from
// runner/modules/docs.ts; roles are documented from their meta/argument_specs.yml alone.
import type { ModuleDoc } from '../modules/docs.js';
import type { EntryPointSpec, OptionSpec } from '../playbook/argument-specs.js';

export interface ArgRow {
  name: string;
  type: string;
  required: boolean;
  default?: unknown;
  choices?: unknown[];
  description: string;
}

type Schema = Record<string, any>;

function typeName(s: Schema): string {
  if (s.enum) return 'str';
  const t = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (!t.length) return 'raw';
  const map: Record<string, string> = { string: 'str', integer: 'int', number: 'float', boolean: 'bool', array: 'list', object: 'dict', null: 'none' };
  const names = t.map((x: string) => map[x] ?? x);
  if (names[0] === 'list' && s.items) {
    const el = s.items.type ? typeName(s.items) : 'raw';
    return `list of ${el}`;
  }
  return names.join(' | ');
}

/** Every argument of a module schema, nested ones dotted (`prune.selector`). */
export function schemaRows(schema: Schema, doc: ModuleDoc | undefined, prefix = ''): ArgRow[] {
  const rows: ArgRow[] = [];
  const required = new Set<string>(schema.required ?? []);
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    const full = prefix + name;
    const d = doc?.options[full];
    rows.push({
      name: full,
      type: typeName(sub),
      required: required.has(name),
      // The schema's default is the one applied; a documented one describes a default computed at run time.
      ...('default' in sub ? { default: sub.default } : d && 'default' in d ? { default: d.default } : {}),
      ...(sub.enum ? { choices: sub.enum } : {}),
      description: d?.description ?? '',
    });
    const nested = sub.properties ? sub : sub.items?.properties ? sub.items : undefined;
    if (nested) rows.push(...schemaRows(nested, doc, `${full}.`));
  }
  return rows;
}

export function roleRows(options: Record<string, OptionSpec>, prefix = ''): ArgRow[] {
  const rows: ArgRow[] = [];
  for (const [name, o] of Object.entries(options)) {
    rows.push({
      name: prefix + name,
      type: o.elements ? `${o.type} of ${o.elements}` : o.type,
      required: o.required,
      ...('default' in o ? { default: o.default } : {}),
      ...(o.choices ? { choices: o.choices } : {}),
      description: o.description,
    });
    if (o.options) rows.push(...roleRows(o.options, `${prefix}${name}.`));
  }
  return rows;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out;
}

function argsText(rows: ArgRow[]): string[] {
  const lines: string[] = [];
  for (const r of rows) {
    lines.push(`${r.required ? '=' : '-'} ${r.name}`);
    lines.push(...wrap(r.description || '(undocumented)', 72, '        '));
    if (r.choices) lines.push(`        choices: [${r.choices.map(show).join(', ')}]`);
    if ('default' in r) lines.push(`        default: ${show(r.default)}`);
    lines.push(`        type: ${r.type}`, '');
  }
  return lines;
}

export function moduleText(name: string, schema: Schema, doc: ModuleDoc | undefined): string {
  const lines = [`> ${name.toUpperCase()}    (meshplay module)`, ''];
  lines.push(...wrap(doc?.short ?? '', 76, '  '), '');
  for (const p of doc?.description ?? []) lines.push(...wrap(p, 76, '  '), '');
  lines.push('OPTIONS (= is mandatory):', '');
  const rows = schemaRows(schema, doc);
  if (rows.length) lines.push(...argsText(rows));
  else if (schema.propertyNames) lines.push('  Free-form: every argument name is a variable name; its value, the variable\'s value.', '');
  lines.push('EXAMPLES:', '', ...(doc?.example ?? '').split('\n').map((l) => `  ${l}`), '');
  const returns = Object.entries(doc?.returns ?? {});
  if (returns.length) {
    lines.push('RETURN VALUES:', '');
    for (const [k, v] of returns) lines.push(`- ${k}`, ...wrap(v.description, 72, '        '), `        type: ${v.type}`, '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

export function roleText(role: string, entry: string, spec: EntryPointSpec, readme?: string): string {
  const lines = [`> ${role.toUpperCase()}    (role, entry point ${entry})`, ''];
  if (spec.short_description) lines.push(...wrap(spec.short_description, 76, '  '), '');
  if (spec.description) lines.push(...wrap(spec.description, 76, '  '), '');
  if (readme) lines.push(`  More: ${readme}`, '');
  lines.push('OPTIONS (= is mandatory):', '', ...argsText(roleRows(spec.options)));
  return `${lines.join('\n').trimEnd()}\n`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function argsTable(rows: ArgRow[]): string[] {
  const out = ['| argument | type | required | default | choices | description |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    out.push(`| \`${r.name}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${'default' in r ? `\`${cell(show(r.default))}\`` : ''} | ${r.choices ? r.choices.map((c) => `\`${cell(show(c))}\``).join(', ') : ''} | ${cell(r.description)} |`);
  }
  return out;
}

export function modulesMarkdown(modules: { name: string; schema: Schema; doc: ModuleDoc | undefined }[]): string {
  const out = ['# Modules', '', 'Generated by `node scripts/gen-docs.mjs` from each module\'s schema and runner/modules/docs.ts; `meshplay doc MODULE` shows the same. Do not edit by hand.', ''];
  for (const m of modules) out.push(`- [${m.name}](#${m.name.replace(/_/g, '_')}): ${m.doc?.short ?? ''}`);
  for (const m of modules) {
    out.push('', `## ${m.name}`, '', m.doc?.short ?? '', '');
    for (const p of m.doc?.description ?? []) out.push(p, '');
    const rows = schemaRows(m.schema, m.doc);
    if (rows.length) out.push(...argsTable(rows), '');
    else if (m.schema.propertyNames) out.push('Free-form: every argument name is a variable name.', '');
    const returns = Object.entries(m.doc?.returns ?? {});
    if (returns.length) {
      out.push('Returns:', '');
      for (const [k, v] of returns) out.push(`- \`${k}\` (${v.type}): ${v.description}`);
      out.push('');
    }
    out.push('```yaml', m.doc?.example ?? '', '```');
  }
  return `${out.join('\n')}\n`;
}

export function rolesMarkdown(roles: { name: string; entry: string; spec: EntryPointSpec }[]): string {
  const out = ['# Roles', '', 'Generated by `node scripts/gen-docs.mjs` from each role\'s meta/argument_specs.yml; `meshplay doc --role ROLE` shows the same. Do not edit by hand.', ''];
  for (const r of roles) out.push(`- [${r.name}](#${r.name}): ${r.spec.short_description ?? ''}`);
  for (const r of roles) {
    out.push('', `## ${r.name}`, '', `${r.spec.short_description ?? ''}${r.entry === 'main' ? '' : ` (entry point ${r.entry})`}`, '');
    if (r.spec.description) out.push(r.spec.description, '');
    out.push(...argsTable(roleRows(r.spec.options)));
  }
  return `${out.join('\n')}\n`;
}

/** A role's inputs as a Markdown table (role READMEs). */
export function argsMarkdown(options: Record<string, OptionSpec>): string {
  return `${argsTable(roleRows(options)).join('\n')}\n`;
}
