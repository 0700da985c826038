// Shared facts/plan/apply for modules that ensure a file's content and mode (template, copy).
import { createHash } from 'node:crypto';
import { types } from './args.js';
import type { ModuleContext, ModuleResult, Plan, PlanContext } from './types.js';
import { commandConnection, normalizeMode, readFileOn, writeFileOn } from './util.js';

/** The `mode` argument: octal as text ('0644') or a number (420, YAML's 0644). */
export const fileMode = () => types<string | number>(['string', 'integer']);

export interface FilePlan {
  dest: string;
  content: string;
  mode?: string;
  contentChanged: boolean;
}

/** The file as it is on the host (undefined: absent). */
export interface FileFacts {
  current?: { content: string; mode: string };
}

export async function readFile(ctx: ModuleContext, dest: string): Promise<FileFacts> {
  return { current: await readFileOn(await commandConnection(ctx), dest) };
}

/** Digest of a file's content and mode: what a saved plan checks has not moved. */
export function fileDigest(f: { content: string; mode: string } | undefined): string | null {
  return f ? createHash('sha256').update(`${f.mode.padStart(4, '0')}\0${f.content}`).digest('hex') : null;
}

export function planFile(facts: FileFacts, ctx: Pick<PlanContext, 'host'>, dest: string, content: string, modeArg: unknown): Plan<FilePlan> {
  const { current } = facts;
  const mode = normalizeMode(modeArg);
  const contentChanged = current?.content !== content;
  const modeChanged = mode !== undefined && (!current || current.mode.padStart(4, '0') !== mode);
  const changed = contentChanged || modeChanged;
  return {
    changed,
    diff: contentChanged
      ? [{ before: current?.content ?? '', after: content, beforeHeader: current ? dest : '/dev/null', afterHeader: dest }]
      : undefined,
    result: { dest, ...(mode ? { mode } : {}) },
    data: { dest, content, mode, contentChanged },
    changes: { dest, content: createHash('sha256').update(content).digest('hex'), mode },
    fingerprints: [{ kind: 'file', host: ctx.host.name, path: dest, digest: fileDigest(current) }],
  };
}

export async function applyFile(ctx: ModuleContext, plan: Plan<FilePlan>): Promise<ModuleResult> {
  const conn = await commandConnection(ctx);
  const p = plan.data;
  if (p.contentChanged) await writeFileOn(conn, p.dest, p.content, p.mode, ctx.become);
  else if (p.mode) {
    const r = await conn.exec(['chmod', p.mode, p.dest], { become: ctx.become });
    if (r.code !== 0) throw new Error(`chmod ${p.mode} ${p.dest}: ${r.stderr.trim()}`);
  }
  return { changed: true, dest: p.dest, ...(p.mode ? { mode: p.mode } : {}), diff: plan.diff };
}
