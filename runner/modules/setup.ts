// Fact gathering, as Ansible's setup module: what `gather_facts` runs before a play's tasks, and a task too.
// A cluster host's connection reads its facts from the API (version, API groups, nodes); a node (or the
// controller) answers with uname and id. Reading only: never changed.
import { isCommandConnection, isFactSource, type Connection } from '../connection/types.js';
import { object, typed } from './args.js';
import type { Module } from './types.js';

type Dict = Record<string, unknown>;

const schema = object({ filter: typed<string | string[]>({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }) });

const setup: Module<typeof schema, Dict> = {
  name: 'setup',
  schema,
  facts: async (ctx) => hostFacts(await ctx.connection()),
  plan(facts, args) {
    const patterns = args.filter === undefined ? [] : Array.isArray(args.filter) ? args.filter : [args.filter];
    const kept = patterns.length ? Object.fromEntries(Object.entries(facts).filter(([k]) => patterns.some((p) => globMatch(p, k)))) : facts;
    // Facts are not dumped at -v (Ansible's _ansible_verbose_override): the recap would drown in them.
    return { changed: false, result: { ansible_facts: kept, _ansible_verbose_override: true } };
  },
};

export default setup;

async function hostFacts(conn: Connection): Promise<Dict> {
  if (isFactSource(conn)) return conn.gatherFacts();
  if (!isCommandConnection(conn)) return {};
  const r = await conn.exec('uname -n; uname -s; uname -r; uname -m; id -un', {});
  const [hostname, system, kernel, machine, user] = r.stdout.split('\n');
  return { ansible_hostname: hostname, ansible_system: system, ansible_kernel: kernel, ansible_architecture: machine, ansible_user_id: user, ansible_connection: conn.kind };
}

/** fnmatch-style: `*` any run, `?` one character (Ansible's setup filter). */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return re.test(name);
}
