// k8s_info: read Kubernetes objects, as kubernetes.core.k8s_info. Never changes anything.
// Secret values stay in the registered result (later tasks may need a token) but are registered as
// secrets, so every output masks them.
import type { Module, Plan } from './types.js';
import { forOutput, waitConditionSchema, type KubeObject } from '../k8s/objects.js';
import { getLive, kubeConnection, listObjects, registerSecretValues, waitForObject } from '../k8s/client.js';

export interface K8sInfoArgs {
  kind: string;
  api_version?: string;
  name?: string;
  namespace?: string;
  label_selectors?: string[];
  field_selectors?: string[];
  wait?: boolean;
  wait_condition?: { type: string; status?: string | boolean; reason?: string };
  wait_timeout?: number;
  wait_sleep?: number;
}

const stringList = { type: 'array', items: { type: 'string' } };

const k8sInfo: Module<K8sInfoArgs, never> = {
  name: 'k8s_info',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['kind'],
    properties: {
      kind: { type: 'string' },
      api_version: { type: 'string' },
      name: { type: 'string' },
      namespace: { type: 'string' },
      label_selectors: stringList,
      field_selectors: stringList,
      wait: { type: 'boolean' },
      wait_condition: waitConditionSchema,
      wait_timeout: { type: 'number', minimum: 0 },
      wait_sleep: { type: 'number', minimum: 0 },
    },
  },

  async plan(ctx, args): Promise<Plan<never>> {
    const conn = await kubeConnection(ctx);
    const resource = await conn.resourceFor(args.api_version ?? 'v1', args.kind);
    const namespace = resource.namespaced ? args.namespace : undefined;
    let resources: KubeObject[];
    if (args.name) {
      const ref: KubeObject = { apiVersion: resource.apiVersion, kind: resource.kind, metadata: { name: args.name, namespace: namespace ?? (resource.namespaced ? 'default' : undefined) } };
      const one =
        args.wait || args.wait_condition
          ? await waitForObject(ctx, conn, resource, ref, { condition: args.wait_condition, timeoutS: args.wait_timeout ?? 120, sleepS: args.wait_sleep ?? 1 })
          : await getLive(conn, resource, ref);
      resources = one ? [one] : [];
    } else {
      resources = await listObjects(conn, resource, namespace, (args.label_selectors ?? []).join(','), (args.field_selectors ?? []).join(','));
    }
    registerSecretValues(ctx, ...resources);
    return { changed: false, result: { resources: resources.map(forOutput), api_found: true } };
  },

  async apply() {
    // plan never reports a change, so the executor never calls this.
    return { changed: false };
  },
};

export default k8sInfo;
