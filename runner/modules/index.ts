// Module registry. Modules load lazily so that start-up stays fast and heavy libraries
// (the Kubernetes client, X.509) load only when a play uses them.
import type { Module } from './types.js';
import { prebuiltValidator } from '../prebuilt.js';

type Loader = () => Promise<{ default: Module<any, any> }>;

const loaders: Record<string, Loader> = {
  command: () => import('./command.js'),
  shell: () => import('./shell.js'),
  debug: () => import('./debug.js'),
  set_fact: () => import('./set_fact.js'),
  include_vars: () => import('./include_vars.js'),
  assert: () => import('./assert.js'),
  fail: () => import('./fail.js'),
  template: () => import('./template.js'),
  copy: () => import('./copy.js'),
  wait_for: () => import('./wait_for.js'),
  ip_route_facts: () => import('./ip_route_facts.js'),
  ip_routes: () => import('./ip_routes.js'),
  k8s: () => import('./k8s.js'),
  k8s_info: () => import('./k8s_info.js'),
  k8s_uninstall: () => import('./k8s_uninstall.js'),
  mesh_ca: () => import('./mesh_ca.js'),
  mesh_global_dns: () => import('./mesh_global_dns.js'),
  mesh_dns_info: () => import('./mesh_dns_info.js'),
  mesh_remote_routes: () => import('./mesh_remote_routes.js'),
  mesh_service_entries: () => import('./mesh_service_entries.js'),
  istio_validate: () => import('./istio_validate.js'),
  istio_discovery: () => import('./istio_discovery.js'),
  istio_remote_secret: () => import('./istio_remote_secret.js'),
  tls_certificate: () => import('./tls_certificate.js'),
  setup: () => import('./setup.js'),
};

/** Fully qualified names users may write, as in Ansible (ansible.builtin.command, kubernetes.core.k8s). */
const aliases: Record<string, string> = {
  'ansible.builtin.command': 'command',
  'ansible.builtin.shell': 'shell',
  'ansible.builtin.debug': 'debug',
  'ansible.builtin.set_fact': 'set_fact',
  'ansible.builtin.include_vars': 'include_vars',
  'ansible.builtin.assert': 'assert',
  'ansible.builtin.fail': 'fail',
  'ansible.builtin.template': 'template',
  'ansible.builtin.copy': 'copy',
  'ansible.builtin.wait_for': 'wait_for',
  'ansible.builtin.setup': 'setup',
  'ansible.builtin.gather_facts': 'setup',
  gather_facts: 'setup',
  'kubernetes.core.k8s': 'k8s',
  'kubernetes.core.k8s_info': 'k8s_info',
};

/** Modules whose arguments may be one free-form string, and the argument it fills (known before loading them). */
const freeFormArgs: Record<string, string> = { command: 'cmd', shell: 'cmd', include_vars: 'file' };

export function freeFormArg(name: string): string | undefined {
  return freeFormArgs[name];
}

export function moduleName(name: string): string | undefined {
  const n = aliases[name] ?? name;
  return n in loaders ? n : undefined;
}

export function moduleNames(): string[] {
  return Object.keys(loaders);
}

// Process-wide on purpose: a module's code is the same in every run (an import, memoised), and holds no run's state.
const cache = new Map<string, Promise<Module<any, any>>>();

export function loadModule(name: string): Promise<Module<any, any>> {
  const n = moduleName(name);
  if (!n) return Promise.reject(new Error(`unknown module '${name}'`));
  let m = cache.get(n);
  if (!m) {
    m = loaders[n]().then((mod) => mod.default);
    cache.set(n, m);
  }
  return m;
}

/**
 * One compiled argument validator per module, shared by playbook validation and the executor. Process-wide on
 * purpose: a pure function of the module's schema, the same in every run.
 */
const validators = new WeakMap<Module<any, any>, import('ajv').ValidateFunction>();
let ajv: import('ajv').Ajv | undefined;

export async function argsValidator(mod: Module<any, any>): Promise<import('ajv').ValidateFunction> {
  let v = validators.get(mod);
  if (!v) {
    v = prebuiltValidator<import('ajv').ValidateFunction>('module-validators.cjs', mod.name, JSON.stringify(mod.schema));
    if (!v) {
      ajv ??= new (await import('ajv')).Ajv({ allErrors: true, strict: false });
      v = ajv.compile(mod.schema);
    }
    validators.set(mod, v);
  }
  return v;
}
