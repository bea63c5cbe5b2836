/** Median of a non-empty list of numbers (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The `p`-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** What a figure measures: throughput is better when higher, latency and memory when lower. */
export type Better = 'higher' | 'lower';

/** Ours against the baseline so that a ratio above 1 always means relaybus is better. */
export function ratio(ours: number, baseline: number, better: Better): number {
  return better === 'higher' ? ours / baseline : baseline / ours;
}

/** Messages per second for `count` messages handled in `elapsedMs`. */
export function perSecond(count: number, elapsedMs: number): number {
  return (count * 1_000) / elapsedMs;
}
