// Python `re` syntax used in playbooks, translated to JavaScript RegExp.

// Process-wide on purpose: a pure function of pattern and flags (the same in any run), bounded, and callers get
// their own copy (a RegExp's lastIndex is state).
const cache = new Map<string, RegExp>();

/** Compile a Python regular expression: `(?P<name>...)`, `(?P=name)`, `\A`, `\Z`, leading `(?i)`. */
export function pythonRegex(pattern: string, flags = ''): RegExp {
  const key = `${flags}/${pattern}`;
  const cached = cache.get(key);
  if (cached) return new RegExp(cached.source, cached.flags);
  let source = pattern;
  let allFlags = flags;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    for (const f of inline[1]) if ('ims'.includes(f) && !allFlags.includes(f)) allFlags += f;
  }
  source = source
    .replace(/\(\?P<([A-Za-z_]\w*)>/g, '(?<$1>')
    .replace(/\(\?P=([A-Za-z_]\w*)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
  let re: RegExp;
  try {
    re = new RegExp(source, allFlags);
  } catch (error) {
    throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
  if (cache.size > 1000) cache.clear();
  cache.set(key, re);
  return new RegExp(re.source, re.flags);
}

/** Python replacement string (`\1`, `\g<1>`, `\g<name>`) to JavaScript (`$1`, `$<name>`). */
export function pythonReplacement(replacement: string): string {
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i];
    if (c === '$') {
      out += '$$';
    } else if (c === '\\' && i + 1 < replacement.length) {
      const rest = replacement.slice(i + 1);
      const numbered = /^(\d{1,2})/.exec(rest);
      const named = /^g<(\w+)>/.exec(rest);
      if (numbered) {
        out += `$${numbered[1]}`;
        i += numbered[1].length;
      } else if (named) {
        out += /^\d+$/.test(named[1]) ? `$${named[1]}` : `$<${named[1]}>`;
        i += named[0].length;
      } else if (rest[0] === 'n') {
        out += '\n';
        i++;
      } else if (rest[0] === 't') {
        out += '\t';
        i++;
      } else if (rest[0] === '\\') {
        out += '\\';
        i++;
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}
