// k8s_info: read Kubernetes objects, as kubernetes.core.k8s_info. Never changes anything.
// Secret values stay in the registered result (later tasks may need a token) but are registered as
// secrets, so every output masks them.
import { array, boolean, number, object, required, string, typed, withDefault } from './args.js';
import type { Module } from './types.js';
import { forOutput, waitConditionSchema, type KubeObject } from '../k8s/objects.js';
import { getLive, kubeConnection, listObjects, registerSecretValues, waitForObject, type WaitSpec } from '../k8s/client.js';

const schema = object({
  kind: required(string()),
  api_version: withDefault(string(), 'v1'),
  name: string(),
  namespace: string(),
  label_selectors: withDefault(array(string()), []),
  field_selectors: withDefault(array(string()), []),
  wait: withDefault(boolean(), false),
  wait_condition: typed<WaitSpec['condition']>(waitConditionSchema),
  wait_timeout: withDefault(number({ minimum: 0 }), 120),
  wait_sleep: withDefault(number({ minimum: 0 }), 1),
});

const k8sInfo: Module<typeof schema, KubeObject[]> = {
  name: 'k8s_info',
  schema,

  async facts(ctx, args) {
    const conn = await kubeConnection(ctx);
    const resource = await conn.resourceFor(args.api_version, args.kind);
    const namespace = resource.namespaced ? args.namespace : undefined;
    let resources: KubeObject[];
    if (args.name) {
      const ref: KubeObject = { apiVersion: resource.apiVersion, kind: resource.kind, metadata: { name: args.name, namespace: namespace ?? (resource.namespaced ? 'default' : undefined) } };
      const one =
        args.wait || args.wait_condition
          ? await waitForObject(ctx, conn, resource, ref, { condition: args.wait_condition, timeoutS: args.wait_timeout, sleepS: args.wait_sleep })
          : await getLive(conn, resource, ref);
      resources = one ? [one] : [];
    } else {
      resources = await listObjects(conn, resource, namespace, args.label_selectors.join(','), args.field_selectors.join(','));
    }
    registerSecretValues(ctx, ...resources);
    return resources;
  },

  plan: (resources) => ({ changed: false, result: { resources: resources.map(forOutput), api_found: true } }),
};

export default k8sInfo;
