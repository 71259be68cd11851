import { supersededSerial, supersedeRevocationMessage } from '../../../shared/issuance/supersede';
import { issuedResultFixture } from '../../support/issuedResult';

const result = issuedResultFixture;

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
