import { BrokerError } from '../../../shared/contract/errors';
import { CachedRaCredentialSource } from '../../../shared/ra-credential/cachedSource';
import type { RaCredential, RaCredentialSource } from '../../../shared/ra-credential/types';

function credential(thumbprint: string, notAfter = new Date(Date.now() + 365 * 86400_000)): RaCredential {
  return {
    certificatePem: 'cert',
    privateKeyPem: 'key',
    chainPem: [],
    thumbprint,
    notAfter,
    subject: 'CN=Dev RA',
    source: 'test',
  };
}

/** A source whose loads the test settles by hand. */
class ManualSource implements RaCredentialSource {
  calls = 0;
  private pending: { resolve: (value: RaCredential) => void; reject: (error: unknown) => void }[] = [];

  load(): Promise<RaCredential> {
    this.calls += 1;
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  resolveNext(value: RaCredential): void {
    this.pending.shift()!.resolve(value);
  }

  rejectNext(error: unknown): void {
    this.pending.shift()!.reject(error);
  }
}

describe('CachedRaCredentialSource', () => {
  let clock: number;
  const now = () => new Date(clock);

  beforeEach(() => {
    clock = Date.UTC(2026, 10, 26, 12);
  });

  it('keeps a loaded credential for ttlMs, then loads again', async () => {
    const source = new ManualSource();
    const cached = new CachedRaCredentialSource({ source, ttlMs: 1000, now });
    const first = cached.load();
    source.resolveNext(credential('A'));
    expect((await first).thumbprint).toBe('A');
    clock += 999;
    expect((await cached.load()).thumbprint).toBe('A');
    expect(source.calls).toBe(1);
    clock += 1;
    const second = cached.load();
    expect(source.calls).toBe(2);
    source.resolveNext(credential('B'));
    expect((await second).thumbprint).toBe('B');
  });

  it('lets concurrent callers share one load', async () => {
    const source = new ManualSource();
    const cached = new CachedRaCredentialSource({ source, ttlMs: 1000, now });
    const loads = [cached.load(), cached.load(), cached.load()];
    expect(source.calls).toBe(1);
    source.resolveNext(credential('A'));
    const results = await Promise.all(loads);
    expect(new Set(results).size).toBe(1);
  });

  it('does not keep a failure: the next caller loads again', async () => {
    const source = new ManualSource();
    const cached = new CachedRaCredentialSource({ source, ttlMs: 1000, now });
    const failing = [cached.load(), cached.load()];
    source.rejectNext(new BrokerError('RA_CERT_UNAVAILABLE', 'Key Vault unreachable', { retryable: true }));
    for (const load of failing) await expect(load).rejects.toThrow('Key Vault unreachable');
    const retry = cached.load();
    expect(source.calls).toBe(2);
    source.resolveNext(credential('A'));
    expect((await retry).thumbprint).toBe('A');
  });

  it('invalidate() forces a reload, and a load begun before it is handed out but not kept', async () => {
    const source = new ManualSource();
    const cached = new CachedRaCredentialSource({ source, ttlMs: 60_000, now });
    const first = cached.load();
    source.resolveNext(credential('A'));
    await first;

    cached.invalidate();
    const stale = cached.load(); // started before the next invalidate()
    cached.invalidate();
    const fresh = cached.load();
    expect(source.calls).toBe(3);
    source.resolveNext(credential('stale'));
    source.resolveNext(credential('fresh'));
    expect((await stale).thumbprint).toBe('stale');
    expect((await fresh).thumbprint).toBe('fresh');
    expect((await cached.load()).thumbprint).toBe('fresh');
    expect(source.calls).toBe(3);
  });

  it("never keeps a credential past the certificate's notAfter", async () => {
    const source = new ManualSource();
    const cached = new CachedRaCredentialSource({ source, ttlMs: 3600_000, now });
    const first = cached.load();
    source.resolveNext(credential('A', new Date(clock + 5000)));
    await first;
    clock += 5001;
    void cached.load();
    expect(source.calls).toBe(2);
  });

  it('ttlMs 0 keeps nothing but still shares an in-flight load', async () => {
    const source = new ManualSource();
    const cached = new CachedRaCredentialSource({ source, ttlMs: 0, now });
    const both = [cached.load(), cached.load()];
    source.resolveNext(credential('A'));
    await Promise.all(both);
    void cached.load();
    expect(source.calls).toBe(2);
  });
});
