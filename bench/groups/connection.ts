/**
 * Group 5: what keeping the CA connection saves. getStatus over the client the process keeps (keep-alive
 * connection, handshake done once) versus a new PkiWsClient per call (new agent, so a full mutual-TLS
 * handshake each time). Both share the cached RA credential, so reading the RA PFX is in neither.
 */
import type { BenchFixture } from '../fixture';
import { formatDuration, formatRatio, roundTo, summaryData, type Section } from '../report';
import { ratio, roundOrder, summarize, timeAsync } from '../stats';

type Variant = 'reused' | 'fresh';

export async function benchConnectionReuse(
  fixture: BenchFixture,
  rounds: number,
  progress: (line: string) => void,
): Promise<Section> {
  const authority = fixture.simulator.authority;
  const getStatusOnce = async (variant: Variant): Promise<number> => {
    const client = variant === 'reused' ? fixture.client : fixture.newClient();
    try {
      const { ms, value } = await timeAsync(() => client.getStatus(authority));
      if (!value.up) throw new Error(`the simulator reports itself down: ${value.message}`);
      return ms;
    } finally {
      if (variant === 'fresh') await client.close();
    }
  };
  const variants: readonly Variant[] = ['reused', 'fresh'];
  const samples = new Map<Variant, number[]>(variants.map((variant) => [variant, []]));
  for (const variant of variants) for (let i = 0; i < 3; i += 1) await getStatusOnce(variant);
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of roundOrder(variants, round)) {
      samples.get(variant)!.push(await getStatusOnce(variant));
    }
  }
  progress(`connection reuse: ${rounds} rounds`);

  const reused = summarize(samples.get('reused')!);
  const fresh = summarize(samples.get('fresh')!);
  const rows = [
    { id: 'reused', label: 'one client, kept connection', summary: reused },
    { id: 'fresh', label: 'new client per call (TLS handshake)', summary: fresh },
  ];
  return {
    title: '5. CA connection reuse: getStatus round trip',
    tables: [
      {
        columns: ['variant', 'n', 'p50', 'p95', 'p50 ÷ reused', 'p95 ÷ reused'],
        rows: rows.map((row) => [
          row.label,
          String(row.summary.n),
          formatDuration(row.summary.median),
          formatDuration(row.summary.p95),
          formatRatio(ratio(row.summary.median, reused.median)),
          formatRatio(ratio(row.summary.p95, reused.p95)),
        ]),
      },
    ],
    notes: [
      `${rounds} rounds, the two variants alternating. getStatus carries no cache, so every call reaches the simulator.`,
      'Loopback network: against the real CA each new handshake also pays extra round trips of Internet latency, so the saving there is larger.',
    ],
    data: Object.fromEntries(
      rows.map((row) => [
        row.id,
        {
          ...summaryData(row.summary),
          p50RatioToReused: roundTo(ratio(row.summary.median, reused.median), 3),
          p95RatioToReused: roundTo(ratio(row.summary.p95, reused.p95), 3),
        },
      ]),
    ),
  };
}
