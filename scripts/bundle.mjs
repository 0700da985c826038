#!/usr/bin/env node
// Build step after tsc: bundles the CLI (dist/runner/cli.js and what it imports) into dist/bin/ with esbuild.
// Loading ~50 engine modules plus yaml, nunjucks and diff file by file cost ~45 ms of every run's start-up
// (measured: a 48-node no-op play 0.165 s -> 0.12 s); lazy imports stay lazy as chunks. dist/bin sits at the
// same depth as dist/runner, so paths the engine derives from import.meta.url (package.json, dist/generated,
// schemas/) resolve the same. Left outside the bundle, loaded from node_modules as before: ssh2 (it finds its
// optional native crypto through __dirname), the Kubernetes client and X.509/Istio model libraries (loaded only
// by the plays that need them), Ajv (required at run time only without prebuilt validators), and lab/ (not engine code).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
rmSync(join(root, 'dist/bin'), { recursive: true, force: true }); // chunk names change with content
await build({
  entryPoints: [join(root, 'dist/runner/cli.js')],
  outdir: join(root, 'dist/bin'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  external: ['ssh2', '@kubernetes/client-node', '@peculiar/x509', 'reflect-metadata', '@kubernetes-models/istio', '@kubernetes-models/istio/*', 'ajv', '../lab/*'],
  // Bundled CommonJS dependencies (nunjucks) call require() for Node built-ins; ESM output has none by itself.
  banner: { js: "import { createRequire as __meshplayRequire } from 'node:module'; const require = __meshplayRequire(import.meta.url);" },
});
