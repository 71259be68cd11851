import type { MessageSignature } from '../../../shared/contract/types';
import {
  assertSignatureValid,
  signingInput,
  signMessage,
  withoutSignature,
  type SignaturePolicy,
  type SigningKey,
} from '../../../shared/guardrails/requestSignature';
import { brokerErrorOf } from '../../support/brokerErrors';

const KEY: SigningKey = { keyId: '0123456789abcdef0123456789abcdef', key: Buffer.alloc(32, 'k') };
const OTHER_KEY: SigningKey = { keyId: KEY.keyId, key: Buffer.alloc(32, 'x') };
const NOW = new Date('2026-12-05T21:00:00.000Z');
const POLICY: SignaturePolicy = { secretName: 'request-signing', maxAgeDays: 90, now: NOW };
const message: {
  schemaVersion: number;
  requestId: string;
  subjectName: string;
  signature?: MessageSignature;
} = {
  schemaVersion: 1,
  requestId: 'r-1',
  subjectName: 'CN=Zoë',
};

type Signed = typeof message & { signature: MessageSignature };
const signed = (at = NOW, key = KEY): Signed => signMessage(message, key, at);

describe('request signatures (HMAC-SHA256 over canonical JSON)', () => {
  it('signs the canonical JSON without signature.value: a fixed vector checked with openssl', () => {
    // printf '%s' '<the text below>' | openssl dgst -sha256 -mac HMAC -macopt hexkey:6b…6b (32 × "k") -binary | base64
    const canonical =
      '{"requestId":"r-1","schemaVersion":1,"signature":{"algorithm":"HMAC-SHA256","keyId":"0123456789abcdef0123456789abcdef","signedAt":"2026-12-05T21:00:00.000Z"},"subjectName":"CN=Zoë"}';
    const result = signed();
    expect(signingInput(result).toString('utf8')).toBe(canonical);
    expect(result.signature.value).toBe('a1ph/io85RtrCdRcuoQGtjnXAq0uRl8AWGQdAyDn1tA=');
  });

  it('accepts the message as signed, whatever its key order and whitespace on the wire', () => {
    const reordered = JSON.parse(
      JSON.stringify(Object.fromEntries(Object.entries(signed()).reverse()), null, 3),
    ) as Signed;
    expect(() => assertSignatureValid(signed(), 'request', KEY, POLICY)).not.toThrow();
    expect(() => assertSignatureValid(reordered, 'request', KEY, POLICY)).not.toThrow();
  });

  it.each([
    ['a changed value', (m: Signed) => ({ ...m, subjectName: 'CN=Zoe' })],
    ['an added field', (m: Signed) => ({ ...m, supersedes: '01' })],
    ['a removed field', ({ subjectName: _s, ...m }: Signed) => m],
    [
      'another signedAt',
      (m: Signed) => ({ ...m, signature: { ...m.signature, signedAt: '2026-12-05T20:59:59.000Z' } }),
    ],
    ['another keyId', (m: Signed) => ({ ...m, signature: { ...m.signature, keyId: 'f'.repeat(32) } })],
    [
      'the MAC of another message',
      (m: Signed) => ({
        ...m,
        signature: { ...m.signature, value: signMessage({ a: 1 }, KEY, NOW).signature.value },
      }),
    ],
  ])('refuses %s as REQUEST_NOT_ALLOWED naming signature', (_what, tamper) => {
    const error = brokerErrorOf(() => assertSignatureValid(tamper(signed()), 'request', KEY, POLICY));
    expect(error.code).toBe('REQUEST_NOT_ALLOWED');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/^signature does not match the request/);
    expect(error.message).toContain('"request-signing"');
  });

  it('refuses a MAC made with another key', () => {
    const error = brokerErrorOf(() =>
      assertSignatureValid(signed(NOW, OTHER_KEY), 'revocation', KEY, POLICY),
    );
    expect(error.message).toMatch(/^signature does not match the revocation/);
  });

  it('refuses a missing signature and says which setting asks for it', () => {
    const error = brokerErrorOf(() => assertSignatureValid(message, 'request', KEY, POLICY));
    expect(error.code).toBe('REQUEST_NOT_ALLOWED');
    expect(error.message).toContain('REQUEST_SIGNING_SECRET_NAME');
    expect(error.remedy).toContain('"request-signing"');
  });

  it('allows 5 minutes of clock skew, not more', () => {
    const ahead = (ms: number) => signed(new Date(NOW.getTime() + ms));
    expect(() => assertSignatureValid(ahead(5 * 60_000), 'request', KEY, POLICY)).not.toThrow();
    const error = brokerErrorOf(() => assertSignatureValid(ahead(6 * 60_000), 'request', KEY, POLICY));
    expect(error.message).toMatch(/^signature\.signedAt .* is 6 minutes ahead/);
    expect(error.remedy).toMatch(/clock/);
  });

  it('refuses a signature older than the ledger remembers (LEDGER_RETENTION_DAYS less a day), unless it keeps all', () => {
    const old = signed(new Date(NOW.getTime() - 89.5 * 86_400_000));
    const error = brokerErrorOf(() => assertSignatureValid(old, 'request', KEY, POLICY));
    expect(error.message).toMatch(/89 days old, older than LEDGER_RETENTION_DAYS \(90\) less a day/);
    expect(() => assertSignatureValid(old, 'request', KEY, { ...POLICY, maxAgeDays: 0 })).not.toThrow();
    const recent = signed(new Date(NOW.getTime() - 88.9 * 86_400_000));
    expect(() => assertSignatureValid(recent, 'request', KEY, POLICY)).not.toThrow();
  });

  it('refuses a signedAt the schema lets through but Date cannot read (a leap second)', () => {
    const signedNow = signed();
    const withLeapSecond = {
      ...signedNow,
      signature: { ...signedNow.signature, signedAt: '2026-12-31T23:59:60Z' },
    };
    const error = brokerErrorOf(() => assertSignatureValid(withLeapSecond, 'request', KEY, POLICY));
    expect(error.code).toBe('REQUEST_NOT_ALLOWED');
    expect(error.message).toBe('signature.signedAt 2026-12-31T23:59:60Z cannot be read as a time.');
  });

  it('signing again replaces the old signature, and withoutSignature gives the message back', () => {
    const twice = signMessage(signed(), KEY, new Date(NOW.getTime() + 1000));
    expect(() => assertSignatureValid(twice, 'request', KEY, POLICY)).not.toThrow();
    expect(withoutSignature(twice)).toEqual(message);
  });
});
