// Every cluster's `api` is resolved once while the inventory loads (runner/k8s/resolve.ts owns the rules): a form
// that cannot work is a validation problem at its key, and the public half becomes the `cluster_api` fact roles
// read (server, CA, tls-server-name, credential kind) instead of each role re-reading `cluster.api.url`.
import type { Problem } from '../errors.js';
import { apiFact, ApiSettingsError, resolveApi, type ApiFact } from '../k8s/resolve.js';
import type { RawCluster } from './checks.js';
import type { ApiSettings } from './types.js';

function unrendered(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{') || value.includes('{%');
  if (value && typeof value === 'object') return Object.values(value).some(unrendered);
  return false;
}

/** The cluster's resolved API fact, or undefined (no api, or a problem reported). Run on rendered values. */
export function checkApi(c: RawCluster, env: NodeJS.ProcessEnv, problems: Problem[]): ApiFact | undefined {
  const api = c.value.api;
  if (!api || typeof api !== 'object' || Array.isArray(api)) return undefined;
  // A template that did not render is reported already; resolving its text would only add noise.
  if (unrendered(api)) return undefined;
  // A URL that is not http(s) is a shape problem the schema reported already.
  const url = (api as ApiSettings).url;
  if (url !== undefined && !/^https?:\/\//.test(url)) return undefined;
  try {
    return apiFact(resolveApi(api as ApiSettings, env));
  } catch (e) {
    if (!(e instanceof ApiSettingsError)) throw e;
    const path = [...c.path, 'api', ...(e.key && e.key in (api as object) ? [e.key] : [])];
    problems.push(c.src.problem(path, `cluster '${String(c.value.name)}': ${e.message}`, e.expected));
    return undefined;
  }
}
