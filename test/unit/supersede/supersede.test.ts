import type { IssuedResult } from '../../../shared/contract/types';
import { supersededSerial, supersedeRevocationMessage } from '../../../shared/supersede';

const result = (extra: Partial<IssuedResult['certificate']> = {}, context?: Record<string, unknown>) =>
  ({
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
      pem: '',
      chainPem: [],
      ...extra,
    },
    pfx: { data: '', password: { algorithm: 'RSA-OAEP-256', recipientThumbprint: '', encryptedValue: '' } },
    ...(context === undefined ? {} : { context }),
  }) as IssuedResult;

describe('supersede', () => {
  it('writes the serial as the CA does: upper-case hex, no separators, no leading zeros', () => {
    expect(supersededSerial('00:4f:2a 09')).toBe('4F2A09');
    expect(supersededSerial(undefined)).toBeUndefined();
  });

  it('a result that supersedes nothing sends no revocation', () => {
    expect(supersedeRevocationMessage(result(), 'pki-ws.symauth.com')).toBeUndefined();
  });

  it('revokes the superseded serial with reason Superseded under <requestId>/supersede, echoing the context', () => {
    const message = supersedeRevocationMessage(
      result({ supersededSerialNumber: '4F2A09' }, { deviceId: 'd-1' }),
      'pki-ws.symauth.com',
    );
    expect(JSON.parse(message!)).toEqual({
      schemaVersion: 1,
      revocationId: 'renewal-7/supersede',
      certificateAuthority: 'pki-ws.symauth.com',
      serialNumber: '4F2A09',
      reason: 'Superseded',
      comment: 'superseded by 5B01 (request renewal-7)',
      context: { deviceId: 'd-1' },
    });
    // The same stored result always yields the same message (replays send it again, byte for byte).
    expect(
      supersedeRevocationMessage(
        result({ supersededSerialNumber: '4F2A09' }, { deviceId: 'd-1' }),
        'pki-ws.symauth.com',
      ),
    ).toBe(message);
  });
});
