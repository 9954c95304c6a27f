/** Timing helpers shared by the bench scripts. */

/** Runs `work` `runs` times and answers the median wall time in milliseconds. */
export function median(runs: number, work: () => unknown): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
