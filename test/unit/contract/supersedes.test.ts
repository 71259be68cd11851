import { parseRequestMessage, validateResult } from '../../../shared/contract/validate';
import { brokerErrorOf } from '../../support/brokerErrors';
import { issuedResultFixture } from '../../support/issuedResult';

const request = (supersedes: unknown): Record<string, unknown> => ({
  schemaVersion: 1,
  requestId: 'renewal-1',
  certificateAuthority: 'pki-ws.symauth.com',
  certificateAuthorityName: 'Symantec',
  certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
  subjectName: 'CN=IWUser0,E=IWUser0@contoso.onmicrosoft.com',
  recipientCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  supersedes,
});
const options = { caAllowedHosts: ['pki-ws.symauth.com'] };

describe('supersedes on a request', () => {
  it.each(['4F2A', '4f2a09', '00:4F:2A:09', '4F 2A 09', 'A'.repeat(40)])('accepts %s', (serial) => {
    expect(parseRequestMessage(request(serial), options).supersedes).toBe(serial);
  });

  it.each<[string, unknown]>([
    ['a 0x prefix', '0x4F2A'],
    ['a non-hex digit', '4F2G'],
    ['an empty string', ''],
    ['a leading separator', ':4F2A'],
    ['a trailing space', '4F2A '],
    ['a newline', '4F\n2A'],
    ['a number', 4242],
    ['more than 120 characters', 'A'.repeat(121)],
  ])('refuses %s, naming the field', (_label, serial) => {
    const error = brokerErrorOf(() => parseRequestMessage(request(serial), options));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain('supersedes');
  });
});

describe('supersededSerialNumber on an issued result', () => {
  const issued = (supersededSerialNumber: string) => issuedResultFixture({ supersededSerialNumber });

  it('is upper-case hex without separators', () => {
    expect(validateResult(issued('4F2A')).valid).toBe(true);
    expect(validateResult(issued('4f:2a')).valid).toBe(false);
  });
});
