// Like command, but the text goes through /bin/sh (pipes, redirections, variables).
import { commandFacts, commandSchema, planCommand, runCommand, type CommandFacts } from './command.js';
import type { Module } from './types.js';

const shell: Module<typeof commandSchema, CommandFacts> = {
  name: 'shell',
  schema: commandSchema,
  facts: commandFacts,
  plan: planCommand,
  apply: (ctx, args) => runCommand(ctx, args, true),
};

export default shell;
