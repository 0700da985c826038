#!/usr/bin/env node
// Build step after tsc: bundles the CLI (dist/runner/cli.js and what it imports) into one CommonJS script,
// dist/bin/meshplay.cjs, and builds its launcher (runner/launch.ts) as dist/bin/cli.js, what `meshplay` runs.
// - One bundle: loading ~50 engine modules plus yaml, nunjucks and diff file by file cost ~45 ms of every run's
//   start-up (a 48-node no-op play 0.165 s -> 0.12 s). Modules loaded lazily stay lazy: esbuild wraps each and
//   runs it on first use.
// - CommonJS, compiled by the launcher through vm.Script: V8 can then take a code cache, which Node 20 offers for
//   no ES module (see runner/launch.ts).
// - dist/bin sits at the same depth as dist/runner, so paths the engine derives from import.meta.url (package.json,
//   dist/generated, schemas/) resolve the same; import.meta.url is the bundle's file URL.
// Left outside, loaded from node_modules as before: ssh2 (it finds its optional native crypto through __dirname), the
// Kubernetes client and X.509/Istio model libraries (loaded only by the plays that need them), Ajv (required at run
// time only without prebuilt validators), and lab/ (not engine code).
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist/bin');
const EXTERNAL = ['ssh2', '@kubernetes/client-node', '@peculiar/x509', 'reflect-metadata', '@kubernetes-models/istio', '@kubernetes-models/istio/*', 'ajv', '../lab/*'];
rmSync(outDir, { recursive: true, force: true }); // earlier builds' files (and their code caches) go
mkdirSync(outDir, { recursive: true });

const cli = await build({
  entryPoints: [join(root, 'dist/runner/cli.js')],
  outfile: join(outDir, 'meshplay.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  external: EXTERNAL,
  define: { 'import.meta.url': '__meshplayUrl' },
  // ES modules are strict; the bundle must stay so (a write to a frozen object throws, as the engine expects).
  banner: { js: '"use strict";\nconst __meshplayUrl = require("node:url").pathToFileURL(__filename).href;' },
  write: false,
});
if (cli.warnings.length) throw new Error(`bundle: ${cli.warnings.length} warning(s), see above`);

let bundleId = '';
for (const file of cli.outputFiles) {
  let text = file.text;
  if (file.path.endsWith('.cjs')) {
    // The launcher compiles the bundle as a function body, where a #! line is a syntax error: it becomes a blank line,
    // so line numbers (and the source map) stay as they are.
    text = text.replace(/^#!.*/, '');
    // import() of the packages left outside goes through the launcher (runner/launch.ts says why).
    // Only string literals (or templates with a literal start, as istio_validate's model paths) naming an
    // external, a lab module or a Node built-in are expected: anything else fails the build.
    text = text.replace(/\bimport\(("[^"]*"|`[^`]*`)\)/g, (_all, literal) => {
      const start = literal.startsWith('"') ? JSON.parse(literal) : literal.slice(1, -1).split('${')[0];
      const known = start.startsWith('node:') || start.startsWith('../lab/') || EXTERNAL.some((e) => e === start || (e.endsWith('/*') && start.startsWith(e.slice(0, -1))));
      if (!known) throw new Error(`bundle: unexpected import(${literal}) left in meshplay.cjs`);
      return `__meshplayImport(${literal})`;
    });
    if (/\bimport\(/.test(text.replace(/__meshplayImport\(/g, ''))) throw new Error('bundle: an import() call that is not a literal is left in meshplay.cjs');
    bundleId = createHash('sha256').update(text).digest('hex').slice(0, 16);
  }
  writeFileSync(file.path, text);
}

await build({
  entryPoints: [join(root, 'dist/runner/launch.js')],
  outfile: join(outDir, 'cli.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  define: { MESHPLAY_BUNDLE_ID: JSON.stringify(bundleId) },
  banner: { js: '#!/usr/bin/env node' },
});
if (!readFileSync(join(outDir, 'cli.js'), 'utf8').includes(bundleId)) throw new Error('bundle: the launcher does not name the bundle it runs');
chmodSync(join(outDir, 'cli.js'), 0o755);
