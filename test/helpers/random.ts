// A seeded generator for property tests, so a failure names the seed that reproduces it.

/** Numbers in [0, 1] from `seed` (an LCG: fast, and plenty for generating test worlds). */
export function seededRandom(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}
