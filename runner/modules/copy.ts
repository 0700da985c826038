// Copies a file from the controller (role files/ or playbook dir) or inline content to the host.
import { readFileSync } from 'node:fs';
import { any, object, required, string } from './args.js';
import { applyFile, fileMode, planFile, readFile, type FileFacts, type FilePlan } from './files.js';
import { findSource } from './template.js';
import type { Module } from './types.js';

const schema = object({ src: string(), content: any(), dest: required(string()), mode: fileMode() });

/** The file on the host, and the controller file's text when the content comes from src. */
interface CopyFacts extends FileFacts {
  source?: string;
}

const copy: Module<typeof schema, CopyFacts, FilePlan> = {
  name: 'copy',
  schema,
  async facts(ctx, args) {
    if ((args.src === undefined) === (args.content === undefined)) throw new Error('copy needs exactly one of src or content');
    const source = args.src !== undefined ? readFileSync(findSource(ctx, args.src, 'files'), 'utf8') : undefined;
    return { ...(await readFile(ctx, args.dest)), source };
  },
  plan(facts, args, ctx) {
    const content = args.content !== undefined
      ? typeof args.content === 'string' ? args.content : JSON.stringify(args.content)
      : facts.source ?? '';
    return planFile(facts, ctx, args.dest, content, args.mode);
  },
  apply: (ctx, _args, plan) => applyFile(ctx, plan),
};

export default copy;
