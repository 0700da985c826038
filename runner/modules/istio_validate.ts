// istio_validate: checks Istio objects against Istio's published schemas before any request is sent,
// so a bad field fails with its path instead of being stored (CRDs with preserved unknown fields accept anything).
// Current kinds use @kubernetes-models/istio; the legacy authentication.istio.io/v1alpha1 kinds (Istio <= 1.5,
// which that package no longer ships) use the small schema below, written from Istio 1.3's authentication API.
import { Ajv } from 'ajv';
import { object, required, types } from './args.js';
import type { Module } from './types.js';
import { describe, parseDefinitions, type KubeObject } from '../k8s/objects.js';


/** Istio API groups and the versions @kubernetes-models/istio models. */
const modelled: Record<string, string[]> = {
  'networking.istio.io': ['v1alpha3', 'v1beta1'],
  'security.istio.io': ['v1beta1', 'v1'],
  'telemetry.istio.io': ['v1alpha1'],
  'extensions.istio.io': ['v1alpha1'],
};

const peerMethod = {
  type: 'object',
  additionalProperties: false,
  properties: {
    mtls: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { mode: { enum: ['STRICT', 'PERMISSIVE'] }, allowTls: { type: 'boolean' } },
    },
    jwt: { type: 'object' },
  },
};

const legacyAuthSpec = {
  type: 'object',
  additionalProperties: false,
  properties: {
    targets: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1 },
          ports: {
            type: 'array',
            items: { type: 'object', additionalProperties: false, properties: { number: { type: 'integer', minimum: 1, maximum: 65535 }, name: { type: 'string' } } },
          },
        },
      },
    },
    peers: { type: 'array', items: peerMethod },
    peerIsOptional: { type: 'boolean' },
    origins: { type: 'array', items: { type: 'object' } },
    originIsOptional: { type: 'boolean' },
    principalBinding: { enum: ['USE_PEER', 'USE_ORIGIN'] },
  },
};

const legacySchemas: Record<string, object> = {
  'authentication.istio.io/v1alpha1/Policy': legacyAuthSpec,
  'authentication.istio.io/v1alpha1/MeshPolicy': legacyAuthSpec,
};

// Process-wide on purpose: a compiler for the constant legacySchemas, the same in every run (no run's state).
let ajv: Ajv | undefined;

function legacyErrors(key: string, spec: unknown): string[] {
  ajv ??= new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(legacySchemas[key]!);
  if (validate(spec ?? {})) return [];
  return (validate.errors ?? []).map((e) => {
    const at = `spec${e.instancePath.replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.')}`;
    if (e.keyword === 'additionalProperties') return `${at}.${(e.params as { additionalProperty: string }).additionalProperty}: unknown field`;
    if (e.keyword === 'enum') return `${at}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    return `${at}: ${e.message}`;
  });
}

/** `data/spec/servers/0/port/number must be integer` -> `spec.servers[0].port.number: must be integer`. */
function modelErrors(err: any): string[] {
  const list: any[] = Array.isArray(err?.errors) ? err.errors : [];
  if (!list.length) return [String(err?.message ?? err)];
  return list.map((e) => {
    const at = String(e.instancePath ?? '').replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.') || '(object)';
    const detail = e.keyword === 'enum' ? `must be one of ${(e.params?.allowedValues ?? []).join(', ')}` : e.message;
    return `${at}: ${detail}`;
  });
}

/** Problems of one object ("Kind ns/name: path: message"), empty when valid or not an Istio kind. */
export async function istioProblems(o: KubeObject): Promise<string[]> {
  const [group, version] = (o.apiVersion ?? '').split('/');
  if (!group?.endsWith('istio.io') || !version || !o.kind) return [];
  const what = describe(o);
  const key = `${group}/${version}/${o.kind}`;
  if (legacySchemas[key]) return legacyErrors(key, o.spec).map((m) => `${what}: ${m}`);
  if (!modelled[group]?.includes(version)) {
    return [`${what}: no schema for ${o.apiVersion} ${o.kind} (known: ${[...Object.entries(modelled).flatMap(([g, vs]) => vs.map((v) => `${g}/${v}`)), ...Object.keys(legacySchemas)].join(', ')})`];
  }
  let Model: any;
  try {
    const mod: any = await import(`@kubernetes-models/istio/${group}/${version}/${o.kind}`);
    Model = mod[o.kind];
  } catch {
    return [`${what}: ${o.kind} is not a kind of ${o.apiVersion}`];
  }
  try {
    new Model(o).validate();
    return [];
  } catch (e) {
    return modelErrors(e).map((m) => `${what}: ${m}`);
  }
}

export async function validateIstioObjects(objects: KubeObject[]): Promise<string[]> {
  const out: string[] = [];
  for (const o of objects) out.push(...(await istioProblems(o)));
  return out;
}

const schema = object({ objects: required(types<unknown>(['object', 'array', 'string'])) });

/** Checking objects against Istio's schemas loads them lazily: work on the controller, no host read. */
const istioValidate: Module<typeof schema, { objects: KubeObject[]; problems: string[] }> = {
  name: 'istio_validate',
  local: true,
  schema,
  async facts(_ctx, args) {
    const objects = parseDefinitions(args.objects, 'objects');
    return { objects, problems: await validateIstioObjects(objects) };
  },
  plan({ objects, problems }) {
    if (problems.length) throw new Error(`invalid Istio object${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`);
    const istio = objects.filter((o) => (o.apiVersion ?? '').split('/')[0]!.endsWith('istio.io'));
    return { changed: false, result: { validated: istio.map(describe), objects } };
  },
};

export default istioValidate;
