/**
 * Request authentication (contract: REQUEST_NOT_ALLOWED, "missing or bad request signature"). Write access to
 * the request queue is otherwise enough to have certificates issued, or revoked, in the RA's name; with a
 * signing key configured, only the system holding that key can ask. The MAC is HMAC-SHA256 over the message's
 * canonical JSON (RFC 8785: keys sorted, no whitespace) with `signature.value` left out, so the signature also
 * covers its algorithm, key id and time, and a sender may serialise the message however it likes.
 * Pure: message, key and clock in, a refusal out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../contract/canonicalJson';
import { BrokerError } from '../contract/errors';
import type { MessageSignature } from '../contract/types';

export const SIGNATURE_ALGORITHM = 'HMAC-SHA256';
/** Shorter keys make HMAC-SHA256 weaker than its output (RFC 2104 §3: at least the hash's length). */
export const MIN_SIGNING_KEY_BYTES = 32;
/** How far a sender's clock may run ahead of the broker's. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** A key the messages are signed with: its Key Vault version (the signature's keyId) and its bytes. */
export interface SigningKey {
  keyId: string;
  key: Buffer;
}

/** Which message is checked, for the words of a refusal. */
export type SignedMessageKind = 'request' | 'revocation';

export interface SignaturePolicy {
  /** The Key Vault secret holding the keys (REQUEST_SIGNING_SECRET_NAME), named in refusals. */
  secretName: string;
  /** LEDGER_RETENTION_DAYS: signatures older than this less a day are refused (0: no limit). */
  maxAgeDays: number;
  now: Date;
}

type Signable = { signature?: MessageSignature };

/** The message without its signature: what its idempotency hash is computed from. */
export function withoutSignature<T extends Signable>(message: T): Omit<T, 'signature'> {
  const rest: Signable = { ...message };
  delete rest.signature;
  return rest as Omit<T, 'signature'>;
}

/** The exact bytes the MAC is computed over. */
export function signingInput(message: Signable): Buffer {
  const { signature } = message;
  if (signature === undefined) throw new Error('internal error: signingInput needs a signature header');
  const header: Partial<MessageSignature> = { ...signature };
  delete header.value;
  return Buffer.from(canonicalJson({ ...message, signature: header }), 'utf8');
}

function mac(message: Signable, key: Buffer): Buffer {
  return createHmac('sha256', key).update(signingInput(message)).digest();
}

/** The message signed with `key` at `signedAt` (the upstream side: the submit CLI, tests, examples). */
export function signMessage<T extends object>(
  message: T,
  key: SigningKey,
  signedAt: Date,
): T & { signature: MessageSignature } {
  const header = {
    algorithm: SIGNATURE_ALGORITHM,
    keyId: key.keyId,
    signedAt: signedAt.toISOString(),
  } as const;
  const unsignedMessage = withoutSignature(message as Signable) as T;
  const value = mac({ ...unsignedMessage, signature: { ...header, value: '' } }, key.key).toString('base64');
  return { ...unsignedMessage, signature: { ...header, value } };
}

function refusal(message: string, remedy: string): BrokerError {
  return new BrokerError('REQUEST_NOT_ALLOWED', message, { remedy });
}

function signHow(policy: SignaturePolicy): string {
  return `the key in Key Vault secret "${policy.secretName}" (HMAC-SHA256 over the message's canonical JSON without signature.value; README "Request signing")`;
}

/**
 * Refuses a message this broker must not act on: unsigned, signed at an impossible time, or whose MAC does not
 * match. Called with the key the signature names (or the current one). The MAC is compared in constant time.
 */
export function assertSignatureValid(
  message: Signable,
  kind: SignedMessageKind,
  key: SigningKey,
  policy: SignaturePolicy,
): void {
  const { signature } = message;
  if (signature === undefined) throw missingSignature(kind, policy);
  const signedAt = Date.parse(signature.signedAt);
  if (Number.isNaN(signedAt)) {
    // RFC 3339 allows a leap second (23:59:60) that Date cannot read: a time that cannot be checked never passes.
    throw refusal(
      `signature.signedAt ${signature.signedAt} cannot be read as a time.`,
      'Sign again with the current UTC time, e.g. 2026-12-05T21:00:00.000Z.',
    );
  }
  const aheadMs = signedAt - policy.now.getTime();
  if (aheadMs > MAX_CLOCK_SKEW_MS) {
    throw refusal(
      `signature.signedAt ${signature.signedAt} is ${Math.round(aheadMs / 60_000)} minutes ahead of the broker's clock (at most ${MAX_CLOCK_SKEW_MS / 60_000} minutes are allowed).`,
      "Correct the upstream system's clock (NTP) and sign the message again.",
    );
  }
  const ageDays = -aheadMs / 86_400_000;
  // A record goes LEDGER_RETENTION_DAYS after its last write, which may come a clock skew before signedAt:
  // a day's margin keeps every signature that could outlive its record out.
  const maxAgeDays = policy.maxAgeDays - 1;
  if (policy.maxAgeDays > 0 && ageDays > maxAgeDays) {
    throw refusal(
      `signature.signedAt ${signature.signedAt} is ${Math.floor(ageDays)} days old, older than LEDGER_RETENTION_DAYS (${policy.maxAgeDays}) less a day: the ledger no longer remembers ${kind}s that old, so a replayed message could not be told apart from a new one.`,
      'Sign the message again (a new signedAt) and send it again.',
    );
  }
  const expected = mac(message, key.key);
  const given = Buffer.from(signature.value, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw refusal(
      `signature does not match the ${kind}: it was changed after it was signed, or signed with another key than version ${key.keyId} of Key Vault secret "${policy.secretName}".`,
      `Sign each ${kind} as it is sent with ${signHow(policy)}; change nothing after signing (key order and whitespace do not matter, values do).`,
    );
  }
}

export function missingSignature(kind: SignedMessageKind, policy: SignaturePolicy): BrokerError {
  return refusal(
    `the ${kind} is not signed, and this broker acts only on signed messages (REQUEST_SIGNING_SECRET_NAME is set).`,
    `Have the upstream system sign every ${kind} with ${signHow(policy)}, or clear REQUEST_SIGNING_SECRET_NAME if unsigned messages should be accepted.`,
  );
}
