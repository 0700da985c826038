// Like command, but the text goes through /bin/sh (pipes, redirections, variables).
import { commandSchema, planCommand, runCommand, type CommandArgs } from './command.js';
import type { Module } from './types.js';

const shell: Module<CommandArgs> = {
  name: 'shell',
  schema: commandSchema,
  plan: planCommand,
  apply: (ctx, args) => runCommand(ctx, args, true),
};

export default shell;
