/**
 * Where a request's key pair comes from: generated on demand (directKeys), or taken from a pool of key pairs
 * generated in the background (KEY_POOL_SIZE), so that a burst's first certificates do not wait for keygen.
 *
 * The pool runs Node's native generateKeyPair, which already works on libuv's threadpool, off the event loop;
 * worker threads would add a thread and ~7 MB RSS each and no throughput (measured in the commit that added
 * this). Background generations run one at a time per key size, so that a refill never fills libuv's four
 * threads and holds up the file, DNS and on-demand key work that shares them.
 *
 * RSA keys and EC keys (P-256, for profiles whose policy asks for EC) are pooled apart, KEY_POOL_SIZE of each
 * key kind in use: a kind is filled from its first take() on unless it is warmed at start.
 *
 * Keys never leave memory: nothing here serialises, exports or logs a key. A key is removed from the pool
 * before it is handed out, so it goes to one caller only, and a caller that fails never gives it back.
 * close() drops every pooled key; Node frees them with OpenSSL, which clears a private key's numbers as it
 * frees them.
 */
import {
  EC_CURVES,
  generateKeyOf,
  isEcCurve,
  KEY_SIZES,
  keySpecName,
  type KeyPair,
  type KeySpec,
} from './keys';

export interface KeySource {
  /** A key pair of `spec` (an RSA size or an EC curve) that was never handed out before and never will be again. */
  take(spec: KeySpec): Promise<KeyPair>;
  /** Stops generating ahead and drops what was generated; take() then generates on demand. Idempotent. */
  close(): void;
}

/** No pool: every key is generated when it is needed (KEY_POOL_SIZE=0). */
export const directKeys: KeySource = { take: generateKeyOf, close: () => undefined };

/** Key generation itself failed (not the request): says which key and why. */
export class KeyGenerationError extends Error {
  constructor(spec: KeySpec, cause: unknown) {
    super(
      `${keySpecName(spec)} key generation failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'KeyGenerationError';
  }
}

export interface KeyPoolOptions {
  /** Key pairs kept per key size or curve, generated or being generated (KEY_POOL_SIZE). */
  size: number;
  /** Sizes (or curves) filled at once; another is filled from its first take() on. Default: 2048. */
  warm?: readonly KeySpec[];
  /** Background generations at a time per key size or curve. Default 1. */
  refillConcurrency?: number;
  /** The generator (default: Node's, for RSA sizes and EC curves alike). */
  generate?(spec: KeySpec): Promise<KeyPair>;
  /** Told of a background generation that failed; the pool itself carries on. */
  onRefillError?: (error: KeyGenerationError) => void;
}

interface PooledKey {
  promise: Promise<KeyPair>;
  ready?: KeyPair;
}

/** The key pairs of one size (or curve): ready ones and those still being generated, oldest first. */
interface SizePool {
  spec: KeySpec;
  keys: PooledKey[];
  generating: number;
  /** Set by a failed background generation: refills wait for the next take(), so a broken keygen cannot spin. */
  paused: boolean;
}

export class KeyPool implements KeySource {
  private readonly pools = new Map<KeySpec, SizePool>();
  private readonly generate: (spec: KeySpec) => Promise<KeyPair>;
  private readonly refillConcurrency: number;
  private closed = false;

  constructor(private readonly options: KeyPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError(`a key pool holds at least one key, not ${String(options.size)}`);
    }
    const generate = options.generate;
    this.generate = generate === undefined ? generateKeyOf : (spec) => generate.call(options, spec);
    this.refillConcurrency = Math.max(1, options.refillConcurrency ?? 1);
    for (const spec of options.warm ?? [2048]) this.refill(this.poolOf(spec));
  }

  take(spec: KeySpec): Promise<KeyPair> {
    // A size or curve the broker does not offer gets the generator's own refusal (a request error), not a pool.
    const offered = isEcCurve(spec) ? EC_CURVES.includes(spec) : KEY_SIZES.includes(spec);
    if (!offered) return generateKeyOf(spec);
    if (this.closed) return this.generateNow(spec);
    const pool = this.poolOf(spec);
    pool.paused = false;
    const index = pool.keys.findIndex((key) => key.ready !== undefined);
    // A ready key first; else the one closest to ready; else generate on demand.
    const [taken] = pool.keys.splice(index === -1 ? 0 : index, 1);
    this.refill(pool);
    if (taken === undefined) return this.generateNow(spec);
    return taken.ready !== undefined ? Promise.resolve(taken.ready) : taken.promise;
  }

  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.keys.length = 0;
    this.pools.clear();
  }

  /** Key pairs held for `spec` now, ready or being generated (for tests and the bench). */
  held(spec: KeySpec): { ready: number; generating: number } {
    const keys = this.pools.get(spec)?.keys ?? [];
    const ready = keys.filter((key) => key.ready !== undefined).length;
    return { ready, generating: keys.length - ready };
  }

  private poolOf(spec: KeySpec): SizePool {
    let pool = this.pools.get(spec);
    if (pool === undefined) {
      pool = { spec, keys: [], generating: 0, paused: false };
      this.pools.set(spec, pool);
    }
    return pool;
  }

  private refill(pool: SizePool): void {
    while (
      !this.closed &&
      !pool.paused &&
      pool.keys.length < this.options.size &&
      pool.generating < this.refillConcurrency
    ) {
      this.startGeneration(pool);
    }
  }

  private startGeneration(pool: SizePool): void {
    const entry: PooledKey = { promise: this.generateNow(pool.spec) };
    pool.keys.push(entry);
    pool.generating += 1;
    entry.promise.then(
      (keys) => {
        entry.ready = keys;
        pool.generating -= 1;
        this.refill(pool);
      },
      (error: unknown) => {
        pool.generating -= 1;
        const index = pool.keys.indexOf(entry);
        if (index !== -1) pool.keys.splice(index, 1);
        pool.paused = true;
        if (error instanceof KeyGenerationError) this.options.onRefillError?.(error);
      },
    );
  }

  private async generateNow(spec: KeySpec): Promise<KeyPair> {
    try {
      return await this.generate(spec);
    } catch (caught) {
      throw new KeyGenerationError(spec, caught);
    }
  }
}
