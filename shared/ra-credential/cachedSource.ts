/**
 * Keeps the RA credential in memory (never on disk) for a while, because the Functions host reuses the
 * process across messages and Key Vault reads cost time and quota. Concurrent callers share one load; a
 * failure is never kept, so the next caller tries again; invalidate() (called by the CA transport after a
 * TLS authentication failure) makes the next caller read afresh, which picks up a rotated certificate.
 */
import type { RaCredential, RaCredentialSource } from './types';

export interface CachedRaCredentialSourceOptions {
  source: RaCredentialSource;
  /** settings.raCacheTtlMs; 0 keeps nothing (but concurrent callers still share one load). */
  ttlMs: number;
  now?: () => Date;
}

export class CachedRaCredentialSource implements RaCredentialSource {
  private cached?: { credential: RaCredential; expiresAt: number };
  private inFlight?: Promise<RaCredential>;
  /** Bumped by invalidate(), so a load that started before it is handed out but not kept. */
  private generation = 0;
  private readonly now: () => Date;

  constructor(private readonly options: CachedRaCredentialSourceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  load(): Promise<RaCredential> {
    const now = this.now().getTime();
    if (this.cached && now < this.cached.expiresAt) return Promise.resolve(this.cached.credential);
    this.cached = undefined;
    if (this.inFlight) return this.inFlight;

    const generation = this.generation;
    const loading = this.options.source.load().then((credential) => {
      if (generation === this.generation && this.options.ttlMs > 0) {
        // Never past the certificate's own end: an expired credential is re-read (and then reported).
        const expiresAt = Math.min(this.now().getTime() + this.options.ttlMs, credential.notAfter.getTime());
        this.cached = { credential, expiresAt };
      }
      return credential;
    });
    this.inFlight = loading;
    const clear = () => {
      if (this.inFlight === loading) this.inFlight = undefined;
    };
    loading.then(clear, clear);
    return loading;
  }

  /** Forgets the credential; the next load() reads it from its source again. */
  invalidate(): void {
    this.generation += 1;
    this.cached = undefined;
    this.inFlight = undefined;
  }
}
