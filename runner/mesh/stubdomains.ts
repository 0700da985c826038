// kube-dns `stubDomains`: a JSON object (as a string in the kube-dns ConfigMap) mapping a domain to its
// nameservers. Merging one domain keeps every other entry and, when the value is already right, the
// original string untouched (so a converged ConfigMap is never rewritten).

export interface StubEdit {
  text: string;
  changed: boolean;
  action: 'unchanged' | 'added' | 'updated' | 'removed' | 'restored';
  /** The domain's nameservers before the edit (undefined when it had none). */
  previous?: string[];
}

export function parseStubDomains(text: string | undefined): Record<string, string[]> {
  if (text === undefined || text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`kube-dns stubDomains is not valid JSON (${(e as Error).message}); fix the ConfigMap by hand first`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('kube-dns stubDomains must be a JSON object {"domain": ["ip", ...]}');
  const out: Record<string, string[]> = {};
  for (const [k, servers] of Object.entries(v as Record<string, unknown>)) {
    if (!Array.isArray(servers) || !servers.every((s) => typeof s === 'string')) throw new Error(`kube-dns stubDomains["${k}"] must be a list of addresses`);
    out[k] = servers as string[];
  }
  return out;
}

function same(a: string[] | undefined, b: string[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Sets domain -> servers; other entries keep their order and values. */
export function mergeStubDomain(text: string | undefined, domain: string, servers: string[]): StubEdit {
  const current = parseStubDomains(text);
  const previous = current[domain];
  if (same(previous, servers)) return { text: text ?? '', changed: false, action: 'unchanged', previous };
  const next = { ...current, [domain]: servers };
  return { text: JSON.stringify(next), changed: true, action: previous ? 'updated' : 'added', previous };
}

/** Undoes mergeStubDomain: puts `previous` back, or drops the domain when there was none. */
export function restoreStubDomain(text: string | undefined, domain: string, previous: string[] | undefined): StubEdit {
  const current = parseStubDomains(text);
  const now = current[domain];
  if (previous === undefined) {
    if (now === undefined) return { text: text ?? '', changed: false, action: 'unchanged' };
    const next = { ...current };
    delete next[domain];
    return { text: Object.keys(next).length ? JSON.stringify(next) : '', changed: true, action: 'removed', previous: now };
  }
  if (same(now, previous)) return { text: text ?? '', changed: false, action: 'unchanged', previous: now };
  return { text: JSON.stringify({ ...current, [domain]: previous }), changed: true, action: 'restored', previous: now };
}
