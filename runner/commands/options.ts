// One description of each command's options: it parses the command line, answers `--help`/`-h`, and names
// the nearest known option when one is misspelled. Every command (run, inventory, status, lab, vault, doc)
// declares its options here-shaped, so the help can never list an option the parser does not take.
import { parseArgs } from 'node:util';
import { ExitCode, OptionError } from '../errors.js';
import { nearest } from '../suggest.js';

export { nearest };

export interface OptionSpec {
  /** Long name without dashes, e.g. `skip-tags`. */
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Placeholder shown in the help for a string option, e.g. FILE. */
  arg?: string;
  help: string;
}

export interface CommandSpec {
  /** e.g. `meshplay run`. */
  name: string;
  /** Usage lines without the leading `usage: `. */
  usage: string[];
  summary: string;
  options: OptionSpec[];
  /** Lines printed after the options (notes, exit codes). */
  epilog?: string[];
}

/** The `-i/--inventory` option, the same in every command that reads an inventory. */
export const INVENTORY_OPTION: OptionSpec = { name: 'inventory', short: 'i', type: 'string', multiple: true, arg: 'FILE|DIR', help: 'inventory' };

export type ParsedOptions = { values: Record<string, string | boolean | string[] | boolean[] | undefined>; positionals: string[] };

export class HelpRequested extends Error {
  constructor(readonly text: string) {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

export function formatHelp(spec: CommandSpec): string {
  const lines = spec.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${u}`);
  lines.push('', spec.summary, '', 'options:');
  const left = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : '    '}--${o.name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`;
  const all: OptionSpec[] = [...spec.options, { name: 'help', short: 'h', type: 'boolean', help: 'show this help and exit' }];
  const width = Math.max(...all.map((o) => left(o).length)) + 2;
  for (const o of all) lines.push(`  ${left(o).padEnd(width)}${o.help}${o.multiple ? ' (repeatable)' : ''}`);
  if (spec.epilog?.length) lines.push('', ...spec.epilog);
  return `${lines.join('\n')}\n`;
}

/**
 * Parses argv against the spec. Throws HelpRequested for -h/--help (before `--`) and OptionError naming an
 * unknown option and the nearest known one.
 */
export function parseCommandLine(spec: CommandSpec, argv: string[], opts: { allowPositionals?: boolean } = {}): ParsedOptions {
  const longs = spec.options.map((o) => o.name);
  const shorts = new Map(spec.options.filter((o) => o.short).map((o) => [o.short!, o]));
  const byLong = new Map(spec.options.map((o) => [o.name, o]));
  let valueNext = false;
  for (const token of argv) {
    if (valueNext) {
      // The value of a string option (`-e -x=1`, `-l '-web'`) is not an option.
      valueNext = false;
      continue;
    }
    if (token === '--') break;
    if (token === '--help' || token === '-h') throw new HelpRequested(formatHelp(spec));
    if (token.startsWith('--')) {
      const name = token.slice(2).split('=', 1)[0]!;
      if (!longs.includes(name)) {
        const near = nearest(name, longs);
        throw new OptionError(`unknown option '--${name}'${near ? `; did you mean '--${near}'?` : ''} (see ${spec.name} --help)`);
      }
      valueNext = byLong.get(name)!.type === 'string' && !token.includes('=');
    } else if (/^-[^-\d]/.test(token)) {
      // Grouped short flags (-vvv, -CD): each letter must be known; a string option takes the rest.
      const letters = token.slice(1);
      for (let i = 0; i < letters.length; i++) {
        const ch = letters[i]!;
        const o = shorts.get(ch);
        if (!o) {
          const byLong = spec.options.find((x) => x.name.startsWith(ch));
          throw new OptionError(`unknown option '-${ch}'${byLong ? `; did you mean '${byLong.short ? `-${byLong.short}` : `--${byLong.name}`}'?` : ''} (see ${spec.name} --help)`);
        }
        if (o.type === 'string') {
          valueNext = i === letters.length - 1;
          break;
        }
      }
    }
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const o of spec.options) options[o.name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: opts.allowPositionals ?? false });
    return { values: parsed.values as ParsedOptions['values'], positionals: parsed.positionals };
  } catch (e) {
    throw new OptionError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (see ${spec.name} --help)`);
  }
}

/**
 * What a command answers when its command line does not run: the help it was asked for (stdout, exit 0), or the
 * option problem (stderr, exit 5).
 */
export function answerCommandLine(e: unknown, command: string): number {
  if (e instanceof HelpRequested) {
    process.stdout.write(e.text);
    return ExitCode.ok;
  }
  process.stderr.write(`${command}: ${(e as Error).message}\n`);
  return ExitCode.badOption;
}
