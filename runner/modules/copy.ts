// Copies a file from the controller (role files/ or playbook dir) or inline content to the host.
import { readFileSync } from 'node:fs';
import { applyFile, planFile, type FilePlan } from './files.js';
import { findSource } from './template.js';
import type { Module } from './types.js';

interface CopyArgs {
  src?: string;
  content?: string;
  dest: string;
  mode?: string | number;
}

const copy: Module<CopyArgs, FilePlan> = {
  name: 'copy',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['dest'],
    properties: { src: { type: 'string' }, content: {}, dest: { type: 'string' }, mode: { type: ['string', 'integer'] } },
  },
  async plan(ctx, args) {
    if ((args.src === undefined) === (args.content === undefined)) throw new Error('copy needs exactly one of src or content');
    const content = args.content !== undefined
      ? typeof args.content === 'string' ? args.content : JSON.stringify(args.content)
      : readFileSync(findSource(ctx, args.src!, 'files'), 'utf8');
    return planFile(ctx, args.dest, content, args.mode);
  },
  apply: (ctx, _args, plan) => applyFile(ctx, plan),
};

export default copy;
