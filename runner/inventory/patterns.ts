// Ansible host patterns: all, *, names of groups or hosts, globs, ~regex, and a:b / a,b (union),
// a:&b (intersection), a:!b (exclusion). The result is always in inventory order.
import type { Inventory } from './types.js';
import { append } from '../arrays.js';

export interface HostSelection {
  hosts: string[];
  /** One per term that matched no group and no host, as Ansible's "Could not match supplied host pattern". */
  warnings: string[];
}

/** Hosts matched by `pattern`, narrowed to those also matched by `limit` (like --limit). */
export function selectHosts(inv: Inventory, pattern: string, limit?: string): HostSelection {
  const warnings: string[] = [];
  let hosts = evaluate(inv, pattern, warnings);
  if (limit !== undefined && limit.trim() !== '') {
    const allowed = new Set(evaluate(inv, limit, warnings));
    hosts = hosts.filter((h) => allowed.has(h));
  }
  const order = new Map([...inv.hosts.keys()].map((h, i) => [h, i]));
  hosts.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return { hosts, warnings };
}

/** As Ansible: split on ',' when there is one, else on ':'. */
export function splitPattern(pattern: string): string[] {
  return pattern
    .split(pattern.includes(',') ? ',' : ':')
    .map((t) => t.trim())
    .filter(Boolean);
}

/**
 * What is wrong with the form of a host pattern, if anything: a term that is only '&' or '!' (ansible-playbook
 * ends with "Unexpected Exception ... string index out of range" on it; meshplay would silently select nothing).
 */
export function patternProblem(pattern: string): string | undefined {
  const bare = splitPattern(pattern).find((t) => t === '&' || t === '!');
  return bare ? `host pattern '${pattern}' has a '${bare}' with no group or host after it` : undefined;
}

function evaluate(inv: Inventory, pattern: string, warnings: string[]): string[] {
  const terms = splitPattern(pattern);
  // Unions first, then intersections, then exclusions, whatever order they were written in.
  const unions = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  const intersections = terms.filter((t) => t.startsWith('&')).map((t) => t.slice(1));
  const exclusions = terms.filter((t) => t.startsWith('!')).map((t) => t.slice(1));
  if (!unions.length) unions.push('all');

  const result = new Set<string>();
  for (const t of unions) for (const h of matchTerm(inv, t, warnings)) result.add(h);
  for (const t of intersections) {
    const keep = new Set(matchTerm(inv, t, warnings));
    for (const h of [...result]) if (!keep.has(h)) result.delete(h);
  }
  for (const t of exclusions) for (const h of matchTerm(inv, t, warnings)) result.delete(h);
  return [...result];
}

function matchTerm(inv: Inventory, term: string, warnings: string[]): string[] {
  if (term === 'all' || term === '*') return [...(inv.groups.get('all') ?? [])];
  let test: (name: string) => boolean;
  if (term.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${term.slice(1)})`); // Python's re.match: anchored at the start only
    } catch (e) {
      warnings.push(`Invalid regular expression in host pattern '${term}': ${(e as Error).message}`);
      return [];
    }
    test = (name) => re.test(name);
  } else if (/[*?[]/.test(term)) {
    const re = globToRegExp(term);
    test = (name) => re.test(name);
  } else {
    test = (name) => name === term;
  }

  let matched = false;
  const hosts: string[] = [];
  for (const [group, members] of inv.groups) {
    if (!test(group)) continue;
    matched = true;
    append(hosts, members);
  }
  for (const [name, host] of inv.hosts) {
    // The implicit localhost answers to its own name only, never to a glob or regex (as in Ansible).
    if (host.kind === 'local' ? name !== term : !test(name)) continue;
    matched = true;
    hosts.push(name);
  }
  if (!matched) warnings.push(`Could not match supplied host pattern, ignoring: ${term}`);
  return [...new Set(hosts)];
}

/** fnmatch-style glob: * ? [abc] [!abc], matched against the whole name. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
