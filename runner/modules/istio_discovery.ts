// istio_discovery: reads where the Istio control plane can be reached (from the control-plane cluster, at run time)
// and returns the selector-less Services + Endpoints a remote cluster needs so its sidecars find it. Read-only:
// a k8s task applies the returned `definitions`, so an address change re-writes only the Endpoints. The rule
// (modes, objects, the drift probe `meshplay status` uses) lives in runner/mesh/discovery.ts.
import { array, object, oneOf, string, withDefault, type ArgsOf } from './args.js';
import type { Module, ModuleContext } from './types.js';
import { kubeConnection } from '../k8s/client.js';
import { defaultDiscoveryServices, discoverAll, remoteObjects, type DiscoveryMode } from '../mesh/discovery.js';

const schema = object({
  mode: withDefault(oneOf(['svc', 'pod', 'lb'] as const satisfies readonly DiscoveryMode[]), 'svc'),
  control_plane: string(),
  namespace: withDefault(string(), 'istio-system'),
  services: withDefault(array(string(), { minItems: 1 }), defaultDiscoveryServices),
});
export type IstioDiscoveryArgs = ArgsOf<typeof schema>;

export function controlPlaneHost(ctx: Pick<ModuleContext, 'inventory'>, given?: string): string {
  if (given) return given;
  const cps = ctx.inventory.groups.get('control_plane') ?? [];
  if (cps.length !== 1) throw new Error(`expected exactly one control-plane cluster in the inventory, found ${cps.length}${cps.length ? `: ${cps.join(', ')}` : ''}`);
  return cps[0]!;
}

type Discovered = Awaited<ReturnType<typeof discoverAll>>;

const istioDiscovery: Module<typeof schema, { controlPlane: string; found: Discovered }> = {
  name: 'istio_discovery',
  schema,
  async facts(ctx, args) {
    const controlPlane = controlPlaneHost(ctx, args.control_plane);
    const conn = await kubeConnection(ctx, controlPlane);
    return { controlPlane, found: await discoverAll(conn, args.mode, args.namespace, args.services) };
  },
  plan: ({ controlPlane, found }, args) => ({
    changed: false,
    result: {
      control_plane: controlPlane,
      mode: args.mode,
      services: found,
      definitions: found.flatMap((d) => remoteObjects(d, args.namespace, controlPlane)),
    },
  }),
};

export default istioDiscovery;
