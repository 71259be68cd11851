import type { KeyObject } from 'node:crypto';

/** A key pair made for an enrollment whose answer was lost, kept in case the CA issues for it late. */
export interface HeldKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeySha256: string;
}

/**
 * Private keys of enrollments whose answer was lost, held in this process's memory only (never stored or
 * logged) for a while: when a later delivery of the same request on this instance finds the certificate the
 * CA issued late, it is used rather than revoked and enrolled again. Bounded in count and time; what is not
 * held (another instance, a restart) is revoked as a stray instead.
 */
export class HeldEnrollmentKeys {
  private readonly keys = new Map<string, HeldKey & { expiresAt: number }>();

  constructor(private readonly options: { maxKeys?: number; ttlMs?: number; now?: () => number } = {}) {}

  hold(requestId: string, attempt: number, key: HeldKey): void {
    const now = this.now();
    this.sweep(now);
    const maxKeys = this.options.maxKeys ?? 1000;
    // Oldest first out: a Map iterates in insertion order.
    while (this.keys.size >= maxKeys) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(`${requestId}#${attempt}`, { ...key, expiresAt: now + (this.options.ttlMs ?? 3_600_000) });
  }

  /** The held key of that attempt if it is the one with this public key hash (and forgets it). */
  take(requestId: string, attempt: number, publicKeySha256: string): HeldKey | undefined {
    const id = `${requestId}#${attempt}`;
    const held = this.keys.get(id);
    this.keys.delete(id);
    if (held === undefined || held.expiresAt <= this.now() || held.publicKeySha256 !== publicKeySha256) {
      return undefined;
    }
    return { privateKey: held.privateKey, publicKey: held.publicKey, publicKeySha256: held.publicKeySha256 };
  }

  /** Forgets every key held for the request: once it has its result, no delivery of it uses one again. */
  forget(requestId: string): void {
    for (const id of this.keys.keys()) if (id.startsWith(`${requestId}#`)) this.keys.delete(id);
  }

  get size(): number {
    return this.keys.size;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private sweep(now: number): void {
    for (const [id, held] of this.keys) if (held.expiresAt <= now) this.keys.delete(id);
  }
}
