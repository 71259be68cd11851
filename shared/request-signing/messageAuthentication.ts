/**
 * Whether a request or revocation comes from the system holding the signing key. With no key configured
 * every message is accepted as before (write access to the queue is then the boundary); with one, a message
 * is acted on only when its signature checks out. Called right after validation, before the ledger is
 * touched: a refused message leaves no trace under its id, so a forger cannot take an id the real sender
 * will use.
 */
import {
  assertSignatureValid,
  missingSignature,
  type SignedMessageKind,
} from '../guardrails/requestSignature';
import { BrokerError } from '../contract/errors';
import type { MessageSignature } from '../contract/types';
import type { SigningKeySource } from './keyVaultSigningKeys';

export interface MessageAuthenticationOptions {
  /** Absent: signing is off. */
  keys?: SigningKeySource;
  /** LEDGER_RETENTION_DAYS: the oldest signature accepted (0: any age). */
  maxAgeDays: number;
  now?: () => Date;
}

export class MessageAuthentication {
  private readonly now: () => Date;

  constructor(private readonly options: MessageAuthenticationOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get required(): boolean {
    return this.options.keys !== undefined;
  }

  /**
   * @throws BrokerError REQUEST_NOT_ALLOWED naming what is wrong with the signature (or its key), marked
   * `unauthenticated` and naming `id` in its text: its result must not carry the id (detail.unauthenticated).
   */
  async assertAuthentic(
    message: { signature?: MessageSignature },
    kind: SignedMessageKind,
    id: string,
  ): Promise<void> {
    const { keys } = this.options;
    if (keys === undefined) return;
    const policy = { secretName: keys.secretName, maxAgeDays: this.options.maxAgeDays, now: this.now() };
    try {
      if (message.signature === undefined) throw missingSignature(kind, policy);
      const key = await keys.key(message.signature.keyId);
      assertSignatureValid(message, kind, key, policy);
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      throw new BrokerError(error.code, `${kind} "${id}": ${error.message}`, {
        remedy: error.remedy,
        retryable: error.retryable,
        cause: error,
        detail: { ...error.detail, unauthenticated: true },
      });
    }
  }
}
