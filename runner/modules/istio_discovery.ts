// istio_discovery: reads where the Istio control plane can be reached (from the control-plane cluster, at run time)
// and returns the selector-less Services + Endpoints a remote cluster needs so its sidecars find it. Read-only:
// a k8s task applies the returned `definitions`, so an address change re-writes only the Endpoints. The rule
// (modes, objects, the drift probe `meshplay status` uses) lives in runner/mesh/discovery.ts.
import type { Module, ModuleContext, Plan } from './types.js';
import { kubeConnection } from '../k8s/client.js';
import { defaultDiscoveryServices, discoverAll, remoteObjects, type DiscoveryMode } from '../mesh/discovery.js';

export interface IstioDiscoveryArgs {
  mode?: DiscoveryMode;
  control_plane?: string;
  namespace?: string;
  services?: string[];
}

export function controlPlaneHost(ctx: Pick<ModuleContext, 'inventory'>, given?: string): string {
  if (given) return given;
  const cps = ctx.inventory.groups.get('control_plane') ?? [];
  if (cps.length !== 1) throw new Error(`expected exactly one control-plane cluster in the inventory, found ${cps.length}${cps.length ? `: ${cps.join(', ')}` : ''}`);
  return cps[0]!;
}

const istioDiscovery: Module<IstioDiscoveryArgs, never> = {
  name: 'istio_discovery',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      mode: { enum: ['svc', 'pod', 'lb'] },
      control_plane: { type: 'string' },
      namespace: { type: 'string' },
      services: { type: 'array', items: { type: 'string' }, minItems: 1 },
    },
  },
  async plan(ctx, args): Promise<Plan<never>> {
    const cp = controlPlaneHost(ctx, args.control_plane);
    const conn = await kubeConnection(ctx, cp);
    const mode = args.mode ?? 'svc';
    const namespace = args.namespace ?? 'istio-system';
    const found = await discoverAll(conn, mode, namespace, args.services ?? defaultDiscoveryServices);
    return {
      changed: false,
      result: {
        control_plane: cp,
        mode,
        services: found,
        definitions: found.flatMap((d) => remoteObjects(d, namespace, cp)),
      },
    };
  },
  async apply() {
    return { changed: false };
  },
};

export default istioDiscovery;
