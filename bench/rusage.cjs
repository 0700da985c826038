// Preloaded into a timed Node process with --require: on exit, writes what getrusage says of the process
// (peak resident set size in kB, user and system CPU in µs) as JSON to $MESHPLAY_BENCH_RUSAGE_FILE.
// CPU time is less disturbed than wall time by other work on the machine, so the bench reports both.
// A plain .cjs file so it stays outside the TypeScript build; it costs the measured process one small require.
'use strict';
const file = process.env.MESHPLAY_BENCH_RUSAGE_FILE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    require('node:fs').writeFileSync(file, JSON.stringify({ maxRSS: u.maxRSS, userCPU: u.userCPUTime, systemCPU: u.systemCPUTime }));
  });
}
