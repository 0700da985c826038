// Shared plan/apply for modules that ensure a file's content and mode (template, copy).
import type { ModuleContext, ModuleResult, Plan } from './types.js';
import { commandConnection, normalizeMode, readFileOn, writeFileOn } from './util.js';

export interface FilePlan {
  dest: string;
  content: string;
  mode?: string;
  contentChanged: boolean;
}

export async function planFile(ctx: ModuleContext, dest: string, content: string, modeArg: unknown): Promise<Plan<FilePlan>> {
  const conn = await commandConnection(ctx);
  const current = await readFileOn(conn, dest);
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
  };
}

export async function applyFile(ctx: ModuleContext, plan: Plan<FilePlan>): Promise<ModuleResult> {
  const conn = await commandConnection(ctx);
  const p = plan.data!;
  if (p.contentChanged) await writeFileOn(conn, p.dest, p.content, p.mode, ctx.become);
  else if (p.mode) {
    const r = await conn.exec(['chmod', p.mode, p.dest], { become: ctx.become });
    if (r.code !== 0) throw new Error(`chmod ${p.mode} ${p.dest}: ${r.stderr.trim()}`);
  }
  return { changed: true, dest: p.dest, ...(p.mode ? { mode: p.mode } : {}), diff: plan.diff };
}
