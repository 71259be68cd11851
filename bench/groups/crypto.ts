/**
 * Group 1: RSA key generation by size (Node's native generator, async on the libuv pool, as the pipeline uses
 * it). Group 2: the PFX with AES-256 versus 3DES key protection, same key and chain.
 */
import {
  createPfxPassword,
  buildPfx,
  generateKeyPair,
  KEY_SIZES,
  type PfxEncryption,
} from '../../shared/crypto';
import type { KeySize } from '../../shared/contract/types';
import type { IssuedMaterial } from '../fixture';
import { formatDuration, formatRatio, roundTo, summaryData, type Section } from '../report';
import { ratio, roundOrder, summarize, timeAsync, timeSync } from '../stats';

export async function benchKeyGeneration(rounds: number, progress: (line: string) => void): Promise<Section> {
  const samples = new Map<KeySize, number[]>(KEY_SIZES.map((bits) => [bits, []]));
  // Warm-up: the first call starts the pool thread and loads OpenSSL's RSA code.
  await generateKeyPair(2048);
  for (let round = 0; round < rounds; round += 1) {
    for (const bits of roundOrder(KEY_SIZES, round)) {
      samples.get(bits)!.push((await timeAsync(() => generateKeyPair(bits))).ms);
    }
    progress(`key generation: round ${round + 1}/${rounds}`);
  }
  const baseline = summarize(samples.get(2048)!);
  const rows = KEY_SIZES.map((bits) => {
    const summary = summarize(samples.get(bits)!);
    return {
      bits,
      summary,
      medianRatio: ratio(summary.median, baseline.median),
      p95Ratio: ratio(summary.p95, baseline.p95),
    };
  });
  return {
    title: '1. RSA key generation (native, async)',
    tables: [
      {
        columns: ['key size', 'n', 'median', 'p95', 'median ÷ 2048', 'p95 ÷ 2048'],
        rows: rows.map((row) => [
          `RSA ${row.bits}`,
          String(row.summary.n),
          formatDuration(row.summary.median),
          formatDuration(row.summary.p95),
          formatRatio(row.medianRatio),
          formatRatio(row.p95Ratio),
        ]),
      },
    ],
    notes: [
      `${rounds} rounds, the three sizes interleaved and rotated each round; one key at a time.`,
      'Prime search makes single timings scatter widely (the 4096-bit p95 most of all): read the medians.',
    ],
    data: Object.fromEntries(
      rows.map((row) => [
        `rsa${row.bits}`,
        {
          ...summaryData(row.summary),
          medianRatioTo2048: roundTo(row.medianRatio, 3),
          p95RatioTo2048: roundTo(row.p95Ratio, 3),
        },
      ]),
    ),
  };
}

const ENCRYPTIONS: readonly PfxEncryption[] = ['AES256', '3DES'];

export function benchPfx(
  material: IssuedMaterial,
  rounds: number,
  progress: (line: string) => void,
): Section {
  const samples = new Map<PfxEncryption, number[]>(ENCRYPTIONS.map((encryption) => [encryption, []]));
  const sizes = new Map<PfxEncryption, number>();
  const build = (encryption: PfxEncryption): Buffer =>
    buildPfx({
      privateKey: material.keys.privateKey,
      leafPem: material.leafPem,
      chainPem: material.chainPem,
      password: createPfxPassword(),
      encryption,
    });
  for (const encryption of ENCRYPTIONS) for (let i = 0; i < 2; i += 1) build(encryption);
  for (let round = 0; round < rounds; round += 1) {
    for (const encryption of roundOrder(ENCRYPTIONS, round)) {
      const { ms, value } = timeSync(() => build(encryption));
      samples.get(encryption)!.push(ms);
      sizes.set(encryption, value.length);
    }
  }
  progress(`PFX: ${rounds} rounds`);
  const baseline = summarize(samples.get('AES256')!);
  const rows = ENCRYPTIONS.map((encryption) => {
    const summary = summarize(samples.get(encryption)!);
    return {
      encryption,
      summary,
      bytes: sizes.get(encryption)!,
      medianRatio: ratio(summary.median, baseline.median),
      p95Ratio: ratio(summary.p95, baseline.p95),
    };
  });
  return {
    title: '2. PFX build (forge): AES-256 versus 3DES',
    tables: [
      {
        columns: ['key protection', 'n', 'median', 'p95', 'bytes', 'median ÷ AES256', 'p95 ÷ AES256'],
        rows: rows.map((row) => [
          row.encryption === 'AES256'
            ? 'AES256 (PBES2, PBKDF2-SHA256)'
            : '3DES (pbeWithSHAAnd3-KeyTripleDES)',
          String(row.summary.n),
          formatDuration(row.summary.median),
          formatDuration(row.summary.p95),
          String(row.bytes),
          formatRatio(row.medianRatio),
          formatRatio(row.p95Ratio),
        ]),
      },
    ],
    notes: [
      `${rounds} rounds, the two variants alternating; same RSA 2048 key, leaf and chain (${material.chainPem.length} CA certificates) from one enrollment at the simulator.`,
      'Each build includes the key export to forge, the leaf/key check, 2048 PBKDF iterations and the SHA-1 MAC.',
    ],
    data: Object.fromEntries(
      rows.map((row) => [
        row.encryption,
        {
          ...summaryData(row.summary),
          bytes: row.bytes,
          medianRatioToAes256: roundTo(row.medianRatio, 3),
          p95RatioToAes256: roundTo(row.p95Ratio, 3),
        },
      ]),
    ),
  };
}
