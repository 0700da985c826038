// Preloaded into a timed Node process with --require: on exit, writes the process's peak resident set size
// (kB, as getrusage reports it) to $MESHPLAY_BENCH_PEAK_RSS_FILE. A plain .cjs file so it stays outside the
// TypeScript build and costs the measured process one small synchronous require.
'use strict';
const file = process.env.MESHPLAY_BENCH_PEAK_RSS_FILE;
if (file) {
  process.on('exit', () => {
    require('node:fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
