// Which values of a host's variables are secrets, registered with the redactor before anything prints.
// The names come from the run's one secret policy (runner/secrets/policy.ts); this file only says where to look.
import { hostVars as inventoryHostVars } from '../inventory/index.js';
import type { Inventory } from '../inventory/types.js';
import type { ModuleTask, Play } from '../playbook/types.js';
import type { SecretPolicy } from '../secrets/policy.js';
import type { HostScopes } from './scopes.js';

type Dict = Record<string, unknown>;

export class SecretRegistration {
  constructor(
    private readonly o: { inventory: Inventory; extraVars: Dict; secrets: SecretPolicy; addSecret(value: string): void },
    private readonly scopes: HostScopes,
  ) {}

  /** Secret-named variables (token, password, api_key...) of the hosts of a batch, before its first task. */
  hosts(hosts: string[], play: Play): void {
    const add = (v: string) => this.o.addSecret(v);
    for (const h of hosts) {
      // A registered variable is a module's result, named by the playbook author (`register: reader_token`): its name
      // says nothing about its strings (the host, the object's name, the method). Secrets inside it are found by
      // their own names (token, data of a Secret) and by what the module registered itself while it ran.
      const facts = this.scopes.factsOf(h);
      const registered = this.scopes.registeredNames(h);
      const own = registered.size ? Object.fromEntries(Object.entries(facts).filter(([k]) => !registered.has(k))) : facts;
      const sources = [inventoryHostVars(this.o.inventory, h), play.vars, own, this.o.extraVars];
      this.o.secrets.scopeSecrets(sources, this.scopes.hostScope(h), add);
      for (const k of registered) {
        this.o.secrets.innerSecrets(facts[k], add);
        // `register: sa_token` of `command: kubectl create token ...`: the output is what the name describes.
        if (this.o.secrets.isSecretName(k)) for (const out of commandOutputs(facts[k])) this.o.secrets.secretStrings(out, add);
      }
    }
  }

  /** Secret-named variables that only a role or a block defines (defaults, role vars, task vars). */
  task(task: ModuleTask, vars: Dict): void {
    const scopes = [task.role?.defaults, task.role?.vars, task.role?.params, ...task.vars];
    this.o.secrets.scopeSecrets(scopes, vars, (v) => this.o.addSecret(v));
  }
}

/** What a module printed, in a registered result (and in each item of a loop's results): stdout, stderr, content. */
function commandOutputs(result: unknown): unknown[] {
  if (result === null || typeof result !== 'object') return [];
  const r = result as Dict;
  const own = ['stdout', 'stdout_lines', 'stderr', 'stderr_lines', 'content'].map((k) => r[k]).filter((v) => v !== undefined);
  const items = Array.isArray(r.results) ? r.results.flatMap(commandOutputs) : [];
  return [...own, ...items];
}
