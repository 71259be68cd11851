/**
 * The key pool (KEY_POOL_SIZE): a burst of requests arriving at once, each waiting for its RSA-2048 key, taken
 * from a warm pool versus generated on demand. A take's latency runs from the burst's start to its key, as a
 * request would see it; a burst as large as the pool is served from memory, one twice as large shows what the
 * pool does once it is drained.
 */
import type { KeySize } from '../../shared/contract/types';
import { directKeys, KeyPool, type KeySource } from '../../shared/crypto';
import { formatDuration, roundTo, summaryData, type Section } from '../report';
import { now, ratio, roundOrder, summarize, type Summary } from '../stats';

const BITS: KeySize = 2048;
type Variant = 'direct' | 'pool';
const VARIANTS: readonly Variant[] = ['direct', 'pool'];

/** Two significant digits: a pooled take is thousands of times shorter, which 0.00× would hide. */
const formatSmallRatio = (value: number): string => `${value.toPrecision(2)}×`;

async function burstLatencies(source: KeySource, size: number): Promise<number[]> {
  const started = now();
  return Promise.all(Array.from({ length: size }, () => source.take(BITS).then(() => now() - started)));
}

/** Waits until the pool holds `size` ready keys (its refills done), so no keygen runs behind a measurement. */
async function untilFull(pool: KeyPool, size: number): Promise<void> {
  while (pool.held(BITS).ready < size) await new Promise((resolve) => setTimeout(resolve, 10));
}

async function measureBurst(variant: Variant, poolSize: number, burst: number): Promise<number[]> {
  if (variant === 'direct') return burstLatencies(directKeys, burst);
  const pool = new KeyPool({ size: poolSize, warm: [BITS] });
  await untilFull(pool, poolSize);
  const latencies = await burstLatencies(pool, burst);
  await untilFull(pool, poolSize);
  pool.close();
  return latencies;
}

export async function benchKeyPool(quick: boolean, progress: (line: string) => void): Promise<Section> {
  const poolSize = quick ? 4 : 8;
  const rounds = quick ? 1 : 4;
  const bursts = [poolSize, poolSize * 2];
  const samples = new Map<string, number[]>();
  const key = (variant: Variant, burst: number) => `${variant} ${burst}`;
  for (let round = 0; round < rounds; round += 1) {
    for (const burst of bursts) {
      for (const variant of roundOrder(VARIANTS, round)) {
        const list = samples.get(key(variant, burst)) ?? [];
        list.push(...(await measureBurst(variant, poolSize, burst)));
        samples.set(key(variant, burst), list);
      }
    }
    progress(`key pool: round ${round + 1}/${rounds}`);
  }
  const rows = bursts.map((burst) => {
    const direct = summarize(samples.get(key('direct', burst))!);
    const pool = summarize(samples.get(key('pool', burst))!);
    return {
      burst,
      direct,
      pool,
      p50Ratio: ratio(pool.median, direct.median),
      p95Ratio: ratio(pool.p95, direct.p95),
    };
  });
  const cells = (summary: Summary) => [formatDuration(summary.median), formatDuration(summary.p95)];
  return {
    title: `Key pool: a burst's wait for its RSA-${BITS} keys, pool of ${poolSize} versus on demand`,
    tables: [
      {
        columns: [
          'burst',
          'on demand p50',
          'on demand p95',
          'pool p50',
          'pool p95',
          'p50 pool ÷ on demand',
          'p95 pool ÷ on demand',
        ],
        rows: rows.map((row) => [
          `${row.burst} at once`,
          ...cells(row.direct),
          ...cells(row.pool),
          formatSmallRatio(row.p50Ratio),
          formatSmallRatio(row.p95Ratio),
        ]),
      },
    ],
    notes: [
      `${rounds} rounds, on demand and pool alternating; each pool is full before its burst, and refilled before the next is measured.`,
      'Latency: from the burst start to each request holding its key. Keygen only: the rest of a request is not included.',
      'Beyond the pool, keys are generated on demand while the pool refills one key at a time beside them.',
    ],
    data: Object.fromEntries(
      rows.map((row) => [
        `burst${row.burst}`,
        {
          poolSize,
          onDemand: summaryData(row.direct),
          pool: summaryData(row.pool),
          p50RatioPoolToOnDemand: roundTo(row.p50Ratio, 6),
          p95RatioPoolToOnDemand: roundTo(row.p95Ratio, 6),
        },
      ]),
    ),
  };
}
