import {
  parseRevocationMessage,
  readRevocationIdLoosely,
  validateRevocationResult,
} from '../../../shared/contract/validateRevocation';
import { brokerErrorOf } from '../../support/brokerErrors';

const options = { caAllowedHosts: ['pki-ws.symauth.com'] };
const bySerial = {
  schemaVersion: 1,
  revocationId: 'b2f0c6a4-3a51-4e43-9a43-5f8d2f7f0c11',
  certificateAuthority: 'pki-ws.symauth.com',
  serialNumber: '4F:2A:09',
  reason: 'CessationOfOperation',
  comment: 'device retired in Intune',
  context: { deviceId: 'd-1' },
};

function refusal(message: unknown): { code: string; message: string } {
  const error = brokerErrorOf(() => parseRevocationMessage(message, options));
  return { code: error.code, message: error.message };
}

describe('parseRevocationMessage', () => {
  it('accepts the contract example, by serial or by requestId (the CA then optional), and the supersede id', () => {
    expect(parseRevocationMessage(JSON.stringify(bySerial), options)).toEqual(bySerial);
    const byRequest = { schemaVersion: 1, revocationId: 'r-1', requestId: 'issued-7' };
    expect(parseRevocationMessage(byRequest, options)).toEqual(byRequest);
    expect(
      parseRevocationMessage({ ...byRequest, revocationId: 'renewal-7/supersede' }, options).revocationId,
    ).toBe('renewal-7/supersede');
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['both serialNumber and requestId', { ...bySerial, requestId: 'x' }, 'INVALID_REQUEST', /both given/],
    [
      'neither',
      { schemaVersion: 1, revocationId: 'r' },
      'INVALID_REQUEST',
      /serialNumber or requestId is required/,
    ],
    [
      'a serial without its CA',
      { schemaVersion: 1, revocationId: 'r', serialNumber: '4F' },
      'CA_NOT_ALLOWED',
      /certificateAuthority is required/,
    ],
    [
      'a CA not allow-listed',
      { ...bySerial, certificateAuthority: 'evil.example' },
      'CA_NOT_ALLOWED',
      /not listed in CA_ALLOWED_HOSTS/,
    ],
    [
      'a CA with a scheme',
      { ...bySerial, certificateAuthority: 'https://pki-ws.symauth.com' },
      'CA_NOT_ALLOWED',
      /certificateAuthority/,
    ],
    ['a serial that is not hex', { ...bySerial, serialNumber: '4F2G' }, 'INVALID_REQUEST', /serialNumber/],
    ['an unknown reason', { ...bySerial, reason: 'Retired' }, 'INVALID_REQUEST', /reason/],
    [
      'a comment over 512 characters',
      { ...bySerial, comment: 'x'.repeat(513) },
      'INVALID_REQUEST',
      /comment/,
    ],
    ['another suffix on the id', { ...bySerial, revocationId: 'r/other' }, 'INVALID_REQUEST', /revocationId/],
    ['an unknown field', { ...bySerial, device: 'd' }, 'INVALID_REQUEST', /device/],
    ['a context over 4 KB', { ...bySerial, context: { x: 'y'.repeat(5000) } }, 'INVALID_REQUEST', /context/],
  ])('refuses %s, naming the field', (_label, message, code, words) => {
    const error = refusal(message);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(words);
  });

  it('refuses text that is not JSON', () => {
    expect(refusal('{"schemaVersion": 1,')).toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('reads the revocationId of a message that did not validate, when it follows the rule', () => {
    expect(readRevocationIdLoosely({ revocationId: 'r-9', serialNumber: 42 })).toBe('r-9');
    expect(readRevocationIdLoosely({ revocationId: 'bad id' })).toBeNull();
    expect(readRevocationIdLoosely('not json')).toBeNull();
  });
});

describe('validateRevocationResult', () => {
  const revoked = {
    schemaVersion: 1,
    revocationId: 'r-1',
    status: 'revoked',
    completedAt: '2026-12-05T10:00:00.000Z',
    serialNumber: '4F2A09',
    reason: 'Superseded',
    alreadyRevoked: false,
  };
  it('accepts a revoked and a failed result as the contract shows them', () => {
    expect(validateRevocationResult(revoked)).toEqual({ valid: true });
    expect(
      validateRevocationResult({
        schemaVersion: 1,
        revocationId: null,
        status: 'failed',
        completedAt: '2026-12-05T10:00:00.000Z',
        error: { code: 'CERTIFICATE_NOT_FOUND', message: 'm', remedy: 'r', retryable: false },
      }),
    ).toEqual({ valid: true });
  });
  it('refuses a serial with separators and a missing alreadyRevoked', () => {
    expect(validateRevocationResult({ ...revoked, serialNumber: '4f:2a' }).valid).toBe(false);
    const withoutFlag: Record<string, unknown> = { ...revoked };
    delete withoutFlag.alreadyRevoked;
    expect(validateRevocationResult(withoutFlag).valid).toBe(false);
  });
});
