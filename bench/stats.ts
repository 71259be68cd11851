/**
 * Sample statistics for the benchmarks: medians and p95 (nearest rank), ratios between variants measured side
 * by side, and the interleaving order of variants within a round.
 */
import { performance } from 'node:perf_hooks';

export interface Summary {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted samples: with fewer than 20 samples, p95 is the largest one. */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summary of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: median(sorted),
    p95: percentile(sorted, 0.95),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

/** How many times `value` is `baseline` (2.0 means twice as large). */
export function ratio(value: number, baseline: number): number {
  if (!(baseline > 0)) throw new RangeError(`ratio to a baseline of ${baseline}`);
  return value / baseline;
}

/**
 * The variants in the order they run in round `round`: rotated by one each round, so every variant takes
 * every position equally often (two variants: AB, BA, AB, …) and drift over time hits them all alike.
 */
export function roundOrder<T>(variants: readonly T[], round: number): T[] {
  const shift = round % variants.length;
  return [...variants.slice(shift), ...variants.slice(0, shift)];
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export function now(): number {
  return performance.now();
}

export async function timeAsync<T>(operation: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = now();
  const value = await operation();
  return { ms: now() - started, value };
}

export function timeSync<T>(operation: () => T): { ms: number; value: T } {
  const started = now();
  const value = operation();
  return { ms: now() - started, value };
}
