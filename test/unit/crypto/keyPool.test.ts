import { generateKeyPairSync } from 'node:crypto';
import { BrokerError } from '../../../shared/contract/errors';
import type { KeySize } from '../../../shared/contract/types';
import { directKeys, KeyGenerationError, KeyPool } from '../../../shared/crypto/keyPool';
import type { KeyPair } from '../../../shared/crypto/keys';

/** One real (small, fast) key pair, labelled so each handed-out pair can be told apart. */
const template = generateKeyPairSync('ec', { namedCurve: 'P-256' });

interface Labelled extends KeyPair {
  label: number;
}

/** A keygen under the test's control: each call waits until release() or fail() settles it. */
class ControlledKeygen {
  readonly calls: { bits: KeySize; resolve: (keys: KeyPair) => void; reject: (error: Error) => void }[] = [];
  private made = 0;

  readonly generate = (bits: KeySize): Promise<KeyPair> =>
    new Promise((resolve, reject) => this.calls.push({ bits, resolve, reject }));

  /** Settles the oldest unsettled calls with fresh key pairs. */
  release(count = 1): void {
    for (let i = 0; i < count; i += 1) {
      const call = this.calls.shift();
      if (call === undefined) throw new Error('no keygen waiting');
      this.made += 1;
      const keys: Labelled = { ...template, bits: call.bits, label: this.made };
      call.resolve(keys);
    }
  }

  fail(message: string): void {
    const call = this.calls.shift();
    if (call === undefined) throw new Error('no keygen waiting');
    call.reject(new Error(message));
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const labelOf = (keys: KeyPair) => (keys as Labelled).label;

/** Lets the pool generate in the background until it holds `size` ready keys of `bits`. */
async function fill(pool: KeyPool, keygen: ControlledKeygen, bits: KeySize, size: number): Promise<void> {
  while (pool.held(bits).ready < size) {
    keygen.release();
    await settle();
  }
}

describe('KeyPool', () => {
  it('fills up to its size, one background keygen at a time, and no further', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 3, generate: keygen.generate });
    expect(keygen.calls.map((call) => call.bits)).toEqual([2048]);
    await fill(pool, keygen, 2048, 3);
    expect(pool.held(2048)).toEqual({ ready: 3, generating: 0 });
    expect(keygen.calls).toHaveLength(0);
    pool.close();
  });

  it('hands every key out once, and refills what was taken', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 2, generate: keygen.generate });
    await fill(pool, keygen, 2048, 2);
    const first = await pool.take(2048);
    const second = await pool.take(2048);
    expect(pool.held(2048)).toEqual({ ready: 0, generating: 1 });
    await fill(pool, keygen, 2048, 2);
    const handedOut = [first, second, await pool.take(2048), await pool.take(2048)].map(labelOf);
    expect(new Set(handedOut).size).toBe(4);
    pool.close();
  });

  it('gives a burst larger than the pool the pooled keys, then the one being made, then fresh ones', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 2, generate: keygen.generate });
    await fill(pool, keygen, 2048, 2);
    const burst = Array.from({ length: 5 }, () => pool.take(2048));
    // Two came from the pool; the refill that started is the third's; the last two are generated now.
    expect(keygen.calls).toHaveLength(3);
    keygen.release(3);
    const labels = (await Promise.all(burst)).map(labelOf);
    expect(new Set(labels).size).toBe(5);
    expect(pool.held(2048).ready + pool.held(2048).generating).toBeLessThanOrEqual(2);
    pool.close();
  });

  it('keeps a pool per key size, filled from the first request for that size on', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 1, generate: keygen.generate });
    await fill(pool, keygen, 2048, 1);
    const taken = pool.take(3072);
    expect(keygen.calls.map((call) => call.bits)).toEqual([3072, 3072]);
    keygen.release(2);
    expect((await taken).bits).toBe(3072);
    await settle();
    expect(pool.held(3072)).toEqual({ ready: 1, generating: 0 });
    expect(pool.held(2048)).toEqual({ ready: 1, generating: 0 });
    expect(pool.held(4096)).toEqual({ ready: 0, generating: 0 });
    pool.close();
  });

  it('tells the taker of a key whose generation failed why, and carries on with the next', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 1, generate: keygen.generate });
    const taken = pool.take(2048);
    keygen.fail('out of entropy');
    await expect(taken).rejects.toThrow(KeyGenerationError);
    await expect(taken).rejects.toThrow('RSA-2048 key generation failed: out of entropy');
    const next = pool.take(2048);
    keygen.release(2);
    expect(labelOf(await next)).toBeGreaterThan(0);
    pool.close();
  });

  it('drops a key that failed in the background, reports it, and refills from the next take', async () => {
    const keygen = new ControlledKeygen();
    const failures: string[] = [];
    const pool = new KeyPool({
      size: 2,
      generate: keygen.generate,
      onRefillError: (error) => failures.push(error.message),
    });
    keygen.fail('keygen broke');
    await settle();
    expect(failures).toEqual(['RSA-2048 key generation failed: keygen broke']);
    // No retry loop against a broken keygen: nothing more is generated until someone asks.
    expect(keygen.calls).toHaveLength(0);
    expect(pool.held(2048)).toEqual({ ready: 0, generating: 0 });
    const taken = pool.take(2048);
    keygen.release(2);
    expect(labelOf(await taken)).toBeGreaterThan(0);
    await fill(pool, keygen, 2048, 2);
    pool.close();
  });

  it('keeps the request error of a key size it does not offer', async () => {
    const pool = new KeyPool({ size: 1, generate: new ControlledKeygen().generate });
    await expect(pool.take(1024 as KeySize)).rejects.toThrow(BrokerError);
    pool.close();
  });

  it('stops refilling and drops its keys on close(); take() then generates on demand', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 2, generate: keygen.generate });
    await fill(pool, keygen, 2048, 2);
    pool.close();
    expect(pool.held(2048)).toEqual({ ready: 0, generating: 0 });
    const taken = pool.take(2048);
    expect(keygen.calls).toHaveLength(1);
    keygen.release();
    expect(labelOf(await taken)).toBe(3);
    await settle();
    expect(keygen.calls).toHaveLength(0);
    pool.close();
  });

  it('drops a key that was still being made when it closed', async () => {
    const keygen = new ControlledKeygen();
    const pool = new KeyPool({ size: 1, generate: keygen.generate });
    pool.close();
    keygen.release();
    await settle();
    expect(pool.held(2048)).toEqual({ ready: 0, generating: 0 });
    expect(keygen.calls).toHaveLength(0);
  });

  it('refuses a size below one (KEY_POOL_SIZE=0 means no pool)', () => {
    expect(() => new KeyPool({ size: 0 })).toThrow(RangeError);
  });

  it('works with the real RSA generator', async () => {
    const pool = new KeyPool({ size: 1 });
    const keys = await pool.take(2048);
    expect(keys.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    pool.close();
    expect((await directKeys.take(2048)).publicKey.asymmetricKeyType).toBe('rsa');
  });
});
