// Renders a Jinja template from the role's templates/ (or the playbook's) to a file on the host.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { applyFile, planFile, type FilePlan } from './files.js';
import type { Module, ModuleContext } from './types.js';

interface TemplateArgs {
  src: string;
  dest: string;
  mode?: string | number;
}

/** Where a `src` of template/copy is looked for, in order: the role's templates/ (files/) and folder, then the playbook's. */
export function sourceCandidates(roleDir: string | undefined, playbookDir: string, src: string, sub: 'templates' | 'files'): string[] {
  if (isAbsolute(src)) return [src];
  return [...(roleDir ? [join(roleDir, sub, src), join(roleDir, src)] : []), join(playbookDir, sub, src), join(playbookDir, src)];
}

export function findSource(ctx: ModuleContext, src: string, sub: 'templates' | 'files'): string {
  if (isAbsolute(src)) return src;
  const candidates = sourceCandidates(ctx.roleDir, ctx.playbookDir, src, sub);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`could not find ${src}; searched: ${candidates.join(', ')}`);
  return found;
}

const template: Module<TemplateArgs, FilePlan> = {
  name: 'template',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['src', 'dest'],
    properties: { src: { type: 'string' }, dest: { type: 'string' }, mode: { type: ['string', 'integer'] } },
  },
  async plan(ctx, args) {
    const text = readFileSync(findSource(ctx, args.src, 'templates'), 'utf8');
    const rendered = ctx.render(text);
    const content = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
    return planFile(ctx, args.dest, content, args.mode);
  },
  apply: (ctx, _args, plan) => applyFile(ctx, plan),
};

export default template;
