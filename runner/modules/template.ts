// Renders a Jinja template from the role's templates/ (or the playbook's) to a file on the host.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { object, required, string } from './args.js';
import { applyFile, fileMode, planFile, readFile, type FileFacts, type FilePlan } from './files.js';
import type { Module, ModuleContext } from './types.js';

const schema = object({ src: required(string()), dest: required(string()), mode: fileMode() });

/** The file on the host and the template's text (read on the controller). */
interface TemplateFacts extends FileFacts {
  source: string;
}

/** Where a `src` of template/copy is looked for, in order: the role's templates/ (files/) and folder, then the playbook's. */
export function sourceCandidates(roleDir: string | undefined, playbookDir: string, src: string, sub: 'templates' | 'files' | 'vars'): string[] {
  if (isAbsolute(src)) return [src];
  return [...(roleDir ? [join(roleDir, sub, src), join(roleDir, src)] : []), join(playbookDir, sub, src), join(playbookDir, src)];
}

export function findSource(ctx: ModuleContext, src: string, sub: 'templates' | 'files' | 'vars'): string {
  if (isAbsolute(src)) return src;
  const candidates = sourceCandidates(ctx.roleDir, ctx.playbookDir, src, sub);
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`could not find ${src}; searched: ${candidates.join(', ')}`);
  return found;
}

const template: Module<typeof schema, TemplateFacts, FilePlan> = {
  name: 'template',
  schema,
  async facts(ctx, args) {
    const source = readFileSync(findSource(ctx, args.src, 'templates'), 'utf8');
    return { ...(await readFile(ctx, args.dest)), source };
  },
  plan(facts, args, ctx) {
    const rendered = ctx.render(facts.source);
    const content = typeof rendered === 'string' ? rendered : JSON.stringify(rendered);
    return planFile(facts, ctx, args.dest, content, args.mode);
  },
  apply: (ctx, _args, plan) => applyFile(ctx, plan),
};

export default template;
