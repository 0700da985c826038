// Checks, before anything runs, every role's inputs against its argument specs, and finds role variables
// that are probably misspelled (set by the operator, declared by no role, close to a declared name).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ANSIBLE_YAML } from '../yaml/source.js';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Node } from 'yaml';
import type { Problem } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/index.js';
import type { SourcePosition } from '../yaml/source.js';
import { nearest } from '../suggest.js';
import { isDict, typeMismatch, type OptionSpec } from './argument-specs.js';
import type { Playbook, RoleScope } from './types.js';

export interface RoleArgumentFindings {
  /** Values of the wrong type, missing required ones: always errors. */
  problems: Problem[];
  /** Probable misspellings: warnings, or errors under --strict. */
  misspellings: Problem[];
}

/** First position of each mapping key, per file, read lazily: only needed when something is reported. */
class KeyPositions {
  private readonly cache = new Map<string, Map<string, SourcePosition>>();

  find(files: string[], key: string): SourcePosition | undefined {
    for (const f of files) {
      const p = this.index(f).get(key);
      if (p) return p;
    }
    return undefined;
  }

  private index(file: string): Map<string, SourcePosition> {
    let m = this.cache.get(file);
    if (m) return m;
    m = new Map();
    this.cache.set(file, m);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return m;
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, ...ANSIBLE_YAML });
    const at = (offset: number): SourcePosition => {
      const p = lines.linePos(offset);
      return { file, line: p.line, column: p.col };
    };
    const seen = new Set<Node>();
    const walk = (node: unknown, depth: number): void => {
      if (!node || typeof node !== 'object' || depth > 64 || seen.has(node as Node)) return;
      seen.add(node as Node);
      if (isMap(node)) {
        for (const it of node.items) {
          if (!isPair(it)) continue;
          if (isScalar(it.key) && it.key.range && !m!.has(String(it.key.value))) m!.set(String(it.key.value), at(it.key.range[0]));
          walk(it.value, depth + 1);
        }
      } else if (isSeq(node)) node.items.forEach((x) => walk(x, depth + 1));
    };
    walk(doc.contents, 0);
    return m;
  }
}

/** Every string in a value (keys included), for "is this name used anywhere" checks. */
function collectStrings(v: unknown, out: string[], depth = 0): void {
  if (depth > 64) return;
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => collectStrings(x, out, depth + 1));
  else if (isDict(v)) for (const [k, x] of Object.entries(v)) {
    out.push(k);
    collectStrings(x, out, depth + 1);
  }
}

function templateTexts(roleDir: string): string[] {
  const dir = join(roleDir, 'templates');
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 8) return;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        if (statSync(p).isDirectory()) walk(p, depth + 1);
        else if (statSync(p).size < 1_000_000) out.push(readFileSync(p, 'utf8'));
      } catch {
        /* unreadable template: the template check reports it */
      }
    }
  };
  walk(dir, 0);
  return out;
}

interface Application {
  role: RoleScope;
  playVars: Record<string, unknown>;
  hosts: string[];
  playbookFile: string;
}

export function checkRoleArguments(
  playbooks: Playbook[],
  inventory: Inventory,
  extraVars: Record<string, unknown>,
  opts: { extraVarsFiles?: string[] } = {},
): RoleArgumentFindings {
  const problems: Problem[] = [];
  const misspellings: Problem[] = [];
  const positions = new KeyPositions();
  const applications: Application[] = [];
  for (const pb of playbooks) {
    for (const play of pb.plays) {
      let hosts: string[];
      try {
        hosts = selectHosts(inventory, play.hosts).hosts;
      } catch {
        hosts = [];
      }
      for (const role of play.roles) applications.push({ role, playVars: play.vars, hosts, playbookFile: pb.file });
    }
  }
  const reported = new Set<string>();
  const report = (key: string, p: Problem) => {
    if (reported.has(key)) return;
    reported.add(key);
    problems.push(p);
  };
  const inventoryFiles = inventory.sources;

  type Source = [origin: string, vars: Record<string, unknown>, where: () => SourcePosition | undefined];
  for (const app of applications) {
    const { role } = app;
    const entry = role.argumentSpecs?.[role.entryPoint ?? 'main'];
    if (!entry) continue;
    // Each host's merged inventory variables (host.vars already holds inventory, cluster and node vars).
    const inventoryVars = app.hosts.length ? app.hosts.map((h) => inventory.hosts.get(h)?.vars ?? {}) : [inventory.vars];
    for (const [name, spec] of Object.entries(entry.options)) {
      // Ansible's precedence, highest first, among the places a value can be known before the run. Only the
      // inventory's value can differ between hosts, so the others are looked at once per option.
      const above: Source[] = [
        ['-e', extraVars, () => positions.find(opts.extraVarsFiles ?? [], name)],
        ['role parameter', role.params, () => role.position ?? positions.find([app.playbookFile], name)],
        ['role vars', role.vars, () => positions.find([join(role.dir, 'vars', 'main.yml')], name)],
        ['play vars', app.playVars, () => positions.find([app.playbookFile], name)],
      ];
      const defaults: Source = ['role defaults', role.defaults, () => positions.find([join(role.dir, 'defaults', 'main.yml')], name)];
      const fromInventory = () => positions.find(inventoryFiles, name);
      const fixed = above.find(([, vars]) => vars[name] !== undefined);
      const perHost: Source[] = fixed ? [fixed] : inventoryVars.map((hv) => (hv[name] !== undefined ? ['inventory', hv, fromInventory] : defaults));
      for (const [origin, vars, where] of perHost) {
        if (vars[name] === undefined) {
          if (spec.required) {
            report(`${role.name}:${name}:required`, {
              ...(role.position ?? {}),
              message: `role '${role.name}' needs '${name}' (required by its argument spec), and nothing sets it`,
              expected: `${name} in the inventory, play vars, role parameters or -e${spec.description ? `: ${spec.description}` : ''}`,
            });
          }
          continue;
        }
        const mismatch = typeMismatch(vars[name], spec as OptionSpec, name);
        if (mismatch) {
          const at = where();
          report(`${role.name}:${name}:${origin}:${mismatch}`, {
            ...(at ?? {}),
            message: `role '${role.name}': ${mismatch} (from ${origin}${origin === '-e' && !at ? ' on the command line' : ''})`,
            expected: `a value of type ${spec.type}${spec.elements ? ` with ${spec.elements} elements` : ''}${spec.choices ? ` among ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}` : ''}`,
          });
        }
      }
    }
  }

  // Probable misspellings: a name the operator set that no role declares and nothing reads, close to a
  // declared name or carrying a role's prefix.
  const declared = new Set<string>();
  const prefixes = new Set<string>();
  const used: string[] = [];
  const rolesSeen = new Set<string>();
  for (const app of applications) {
    const { role } = app;
    prefixes.add(`${role.name}_`);
    const entry = role.argumentSpecs?.[role.entryPoint ?? 'main'];
    for (const k of Object.keys(entry?.options ?? {})) declared.add(k);
    for (const k of Object.keys(role.defaults)) declared.add(k);
    for (const k of Object.keys(role.vars)) declared.add(k);
    if (!rolesSeen.has(role.dir)) {
      rolesSeen.add(role.dir);
      collectStrings(role.defaults, used);
      collectStrings(role.vars, used);
      used.push(...templateTexts(role.dir));
    }
  }
  if (declared.size === 0) return { problems, misspellings };
  for (const pb of playbooks) for (const play of pb.plays) collectStrings([play.pre_tasks, play.tasks, play.post_tasks, play.handlers, play.vars], used);
  const usedText = used.join('\n');
  const candidates: [string, string, () => SourcePosition | undefined][] = [];
  for (const k of Object.keys(extraVars)) candidates.push([k, '-e', () => positions.find(opts.extraVarsFiles ?? [], k)]);
  for (const app of applications) {
    for (const k of Object.keys(app.role.params)) candidates.push([k, `parameters of role '${app.role.name}'`, () => app.role.position ?? positions.find([app.playbookFile], k)]);
    for (const k of Object.keys(app.playVars)) candidates.push([k, 'play vars', () => positions.find([app.playbookFile], k)]);
  }
  for (const h of inventory.hosts.values()) for (const k of Object.keys(h.vars)) candidates.push([k, 'the inventory', () => positions.find(inventoryFiles, k)]);
  const declaredList = [...declared];
  // Each name is looked at once: the same variable set on a thousand hosts is one search of the used text.
  const seen = new Set<string>();
  for (const [name, origin, where] of candidates) {
    if (declared.has(name) || seen.has(name) || name.length < 5) continue;
    seen.add(name);
    if (new RegExp(`\\b${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(usedText)) continue;
    const near = nearest(name, declaredList);
    const prefixed = [...prefixes].some((p) => name.startsWith(p));
    if (!near && !prefixed) continue;
    const at = where();
    misspellings.push({
      ...(at ?? {}),
      message: `'${name}' (set in ${origin}) is declared by no role in this run and nothing reads it${near ? `; did you mean '${near}'?` : ''}`,
      ...(near ? { expected: near } : {}),
    });
  }
  return { problems, misspellings };
}
