// The saved plan (`meshplay run --check --plan-out FILE`, applied by `meshplay run --plan FILE`): every host's
// and task's changes as --diff shows them (masked), a salted digest of exactly what apply would send, and the
// fingerprints of the facts each decision was read from. Secret values are never written: the diffs are masked
// by the run's redactor and the changes themselves are kept only as digests (apply renders them again and
// compares). Its JSON Schema is PLAN_SCHEMA, published as schemas/plan.schema.json.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FileDiff, Fingerprint } from '../modules/types.js';

export const PLAN_FORMAT = 'meshplay-plan/1';

/** What one task planned on one host. */
export interface PlanEntry {
  /** The task's place (file:line:column of its definition) and its n-th run on this host (loops, repeated roles). */
  key: string;
  host: string;
  task: string;
  module: string;
  /** change: apply sends `digest`; none: nothing to do; unpredictable: cannot be known before running (command). */
  action: 'change' | 'none' | 'unpredictable';
  msg?: string;
  /** As --diff shows it, masked. */
  diff?: FileDiff[];
  /** Salted SHA-256 of what apply sends (runner/plan/digest.ts); absent for unpredictable tasks. */
  digest?: string;
  fingerprints: Fingerprint[];
  /**
   * Planned after the check had planned an earlier change (or met a command it cannot predict): this plan may rest
   * on state that earlier change creates, which a check cannot see (a ServiceAccount's token, an object made by an
   * earlier task). Applying, such a task follows its plan of the moment when it differs, and says so.
   */
  after_change?: boolean;
}

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  meshplay: string;
  created: string;
  /** Random per plan: every digest of the file is salted with it, so a digest does not identify a common value. */
  salt: string;
  /** The run the plan was made for; apply refuses another playbook, inventory or -e. */
  inputs: {
    playbooks: { path: string; digest: string }[];
    /** Every inventory file read (a folder's files included). */
    inventory: { path: string; digest: string }[];
    /** The -i arguments as given. */
    inventory_given: string[];
    extra_vars: string;
    limit?: string;
    tags: string[];
    skip_tags: string[];
  };
  /** Every fact read, once (the first task that read it names it in read_by). */
  fingerprints: (Fingerprint & { read_by: string })[];
  tasks: PlanEntry[];
  summary: { changes: number; unpredictable: number; hosts: Record<string, { changes: number; unpredictable: number }> };
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** Salted digest of a value (JSON) or a text. */
export function digestOf(salt: string, value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
  return `sha256:${createHash('sha256').update(salt).update('\0').update(text).digest('hex')}`;
}

export function fileDigest(salt: string, path: string): string {
  return digestOf(salt, readFileSync(path, 'utf8'));
}

/** One fact's identity (what was read), without its value. */
export function fingerprintId(f: Fingerprint): string {
  switch (f.kind) {
    case 'k8s':
      return `k8s ${f.host} ${f.apiVersion}/${f.resource} ${f.namespace ? `${f.namespace}/` : ''}${f.name}`;
    case 'routes':
      return `routes ${f.host} proto ${f.protocol}`;
    case 'file':
      return `file ${f.host}:${f.path}`;
  }
}

const fingerprintSchema = {
  oneOf: [
    {
      type: 'object',
      required: ['kind', 'host', 'apiVersion', 'resource', 'name', 'resourceVersion', 'digest'],
      properties: {
        kind: { const: 'k8s' }, host: { type: 'string' }, apiVersion: { type: 'string' }, resource: { type: 'string' },
        namespace: { type: 'string' }, name: { type: 'string' }, resourceVersion: { type: ['string', 'null'], description: 'null: the object was absent' },
        digest: { type: ['string', 'null'], description: 'SHA-256 of the object without status and server bookkeeping (what drift is judged on); null: absent' },
        read_by: { type: 'string' },
      },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['kind', 'host', 'protocol', 'digest'],
      properties: { kind: { const: 'routes' }, host: { type: 'string' }, protocol: { type: 'integer' }, digest: { type: 'string', description: 'SHA-256 of the routes of this protocol in the main table' }, read_by: { type: 'string' } },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['kind', 'host', 'path', 'digest'],
      properties: { kind: { const: 'file' }, host: { type: 'string' }, path: { type: 'string' }, digest: { type: ['string', 'null'], description: 'SHA-256 of mode and content; null: absent' }, read_by: { type: 'string' } },
      additionalProperties: false,
    },
  ],
};

const diffSchema = {
  type: 'object',
  required: ['before', 'after'],
  properties: { before: { type: 'string' }, after: { type: 'string' }, beforeHeader: { type: 'string' }, afterHeader: { type: 'string' } },
  additionalProperties: false,
};

const inputFile = { type: 'object', required: ['path', 'digest'], properties: { path: { type: 'string' }, digest: { type: 'string' } }, additionalProperties: false };
const counts = { type: 'object', required: ['changes', 'unpredictable'], properties: { changes: { type: 'integer' }, unpredictable: { type: 'integer' } } };

/** The JSON Schema of a plan file (schemas/plan.schema.json). */
export const PLAN_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://meshplay.invalid/schemas/plan.schema.json',
  title: 'meshplay saved plan',
  description: 'Written by `meshplay run PLAYBOOK -i INVENTORY --check --plan-out FILE`; applied by `meshplay run --plan FILE`. Holds no secret value: diffs are masked and changes are salted digests.',
  type: 'object',
  required: ['format', 'meshplay', 'created', 'salt', 'inputs', 'fingerprints', 'tasks', 'summary'],
  additionalProperties: false,
  properties: {
    format: { const: PLAN_FORMAT },
    meshplay: { type: 'string' },
    created: { type: 'string', format: 'date-time' },
    salt: { type: 'string', pattern: '^[0-9a-f]{32}$' },
    inputs: {
      type: 'object',
      required: ['playbooks', 'inventory', 'inventory_given', 'extra_vars', 'tags', 'skip_tags'],
      additionalProperties: false,
      properties: {
        playbooks: { type: 'array', items: inputFile },
        inventory: { type: 'array', items: inputFile },
        inventory_given: { type: 'array', items: { type: 'string' } },
        extra_vars: { type: 'string', description: 'salted digest of the -e variables' },
        limit: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
        skip_tags: { type: 'array', items: { type: 'string' } },
      },
    },
    fingerprints: { type: 'array', items: fingerprintSchema },
    tasks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'host', 'task', 'module', 'action', 'fingerprints'],
        additionalProperties: false,
        properties: {
          key: { type: 'string' },
          host: { type: 'string' },
          task: { type: 'string' },
          module: { type: 'string' },
          action: { enum: ['change', 'none', 'unpredictable'] },
          msg: { type: 'string' },
          diff: { type: 'array', items: diffSchema },
          digest: { type: 'string' },
          fingerprints: { type: 'array', items: fingerprintSchema },
          after_change: { type: 'boolean', description: 'planned after an earlier planned change it may depend on' },
        },
      },
    },
    summary: {
      type: 'object',
      required: ['changes', 'unpredictable', 'hosts'],
      properties: { changes: { type: 'integer' }, unpredictable: { type: 'integer' }, hosts: { type: 'object', additionalProperties: counts } },
    },
  },
} as const;

/** Reads and checks a plan file; throws with what is wrong (the schema's first complaints). */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a meshplay plan (${(e as Error).message.replace(/ in JSON at.*/, '')})`);
  }
  const { Ajv } = await import('ajv');
  const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(PLAN_SCHEMA);
  if (!validate(doc)) {
    const what = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(top)'} ${e.message}`).join('; ');
    throw new Error(`${path}: not a meshplay plan of format ${PLAN_FORMAT}: ${what}`);
  }
  return doc as PlanFile;
}

/** The playbooks and inventory a plan file was made with, as given then (for `meshplay run --plan FILE` alone). */
export function planInputs(path: string): { playbooks: string[]; inventory: string[] } {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as PlanFile;
    return { playbooks: doc.inputs.playbooks.map((p) => p.path), inventory: doc.inputs.inventory_given ?? [] };
  } catch {
    return { playbooks: [], inventory: [] };
  }
}
