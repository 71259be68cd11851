import type { IssuedCertificateSummary, IssuedResult } from '../../shared/contract/types';

/** An issued result of the right shape (not a real certificate), for tests of what is built around it. */
export function issuedResultFixture(
  certificate: Partial<IssuedCertificateSummary> = {},
  context?: Record<string, unknown>,
): IssuedResult {
  return {
    schemaVersion: 1,
    requestId: 'renewal-7',
    status: 'issued',
    completedAt: '2026-12-05T10:00:00.000Z',
    certificate: {
      serialNumber: '5B01',
      thumbprint: 'EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5',
      subject: 'CN=IWUser0',
      issuer: 'CN=Issuing CA',
      notBefore: '2026-12-05T10:00:00.000Z',
      notAfter: '2027-12-05T10:00:00.000Z',
      pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      chainPem: [],
      ...certificate,
    },
    pfx: {
      data: 'MIIB',
      password: {
        algorithm: 'RSA-OAEP-256',
        recipientThumbprint: 'EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5',
        encryptedValue: 'AAAA',
      },
    },
    ...(context === undefined ? {} : { context }),
  };
}
