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
import { buildPfxWithForge } from './forgePfx';
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

const PFX_VARIANT_LABELS: Record<PfxVariant, string> = {
  AES256: 'AES256 (PBES2, PBKDF2-SHA256; MAC SHA-256)',
  '3DES': '3DES (pbeWithSHAAnd3-KeyTripleDES; MAC SHA-1)',
  'AES256 forge': 'AES256 by forge, before (MAC SHA-1)',
};

/** The two formats the broker writes, and forge's AES-256 PFX as it built them before (the reference). */
type PfxVariant = PfxEncryption | 'AES256 forge';
const VARIANTS: readonly PfxVariant[] = ['AES256', '3DES', 'AES256 forge'];

export function benchPfx(
  material: IssuedMaterial,
  rounds: number,
  progress: (line: string) => void,
): Section {
  const samples = new Map<PfxVariant, number[]>(VARIANTS.map((variant) => [variant, []]));
  const sizes = new Map<PfxVariant, number>();
  const build = (variant: PfxVariant): Buffer => {
    const input = {
      privateKey: material.keys.privateKey,
      leafPem: material.leafPem,
      chainPem: material.chainPem,
      password: createPfxPassword(),
      encryption: variant === '3DES' ? ('3DES' as const) : ('AES256' as const),
    };
    return variant === 'AES256 forge' ? buildPfxWithForge(input) : buildPfx(input);
  };
  for (const variant of VARIANTS) for (let i = 0; i < 2; i += 1) build(variant);
  for (let round = 0; round < rounds; round += 1) {
    for (const variant of roundOrder(VARIANTS, round)) {
      const { ms, value } = timeSync(() => build(variant));
      samples.get(variant)!.push(ms);
      sizes.set(variant, value.length);
    }
  }
  progress(`PFX: ${rounds} rounds`);
  const baseline = summarize(samples.get('AES256')!);
  const rows = VARIANTS.map((variant) => {
    const summary = summarize(samples.get(variant)!);
    return {
      variant,
      summary,
      bytes: sizes.get(variant)!,
      medianRatio: ratio(summary.median, baseline.median),
      p95Ratio: ratio(summary.p95, baseline.p95),
    };
  });
  return {
    title: '2. PFX build (native PKCS#12): AES-256, 3DES, and forge as it was',
    tables: [
      {
        columns: ['key protection', 'n', 'median', 'p95', 'bytes', 'median ÷ AES256', 'p95 ÷ AES256'],
        rows: rows.map((row) => [
          PFX_VARIANT_LABELS[row.variant],
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
      `${rounds} rounds, the three variants alternating; same RSA 2048 key, leaf and chain (${material.chainPem.length} CA certificates) from one enrollment at the simulator.`,
      'Each build includes the leaf/key check, 2048 iterations for the key bag and 2048 for the MAC key (SHA-256 MAC for AES256, SHA-1 for 3DES and for forge).',
    ],
    data: Object.fromEntries(
      rows.map((row) => [
        row.variant,
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
