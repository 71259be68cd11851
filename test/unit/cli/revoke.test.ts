import { revocationFromArguments } from '../../../cli/revoke';
import { UsageError } from '../../../dev/host/submit';

describe('npm run revoke arguments', () => {
  it('by serial with the CA, reason and comment; a fresh revocationId unless one is given', () => {
    const message = revocationFromArguments([
      '--serial',
      '4F2A09',
      '--ca',
      'pki-ws.symauth.com',
      '--reason',
      'KeyCompromise',
      '--comment',
      'laptop stolen',
    ]);
    expect(message).toMatchObject({
      schemaVersion: 1,
      certificateAuthority: 'pki-ws.symauth.com',
      serialNumber: '4F2A09',
      reason: 'KeyCompromise',
      comment: 'laptop stolen',
    });
    expect(String(message.revocationId)).toMatch(/^[0-9a-f-]{36}$/);
    expect(revocationFromArguments(['--request-id', 'r-1', '--revocation-id', 'mine'])).toEqual({
      schemaVersion: 1,
      revocationId: 'mine',
      requestId: 'r-1',
    });
  });

  it('takes the local stack CA for a serial when no --ca is given', () => {
    expect(revocationFromArguments(['--serial', '4F'], '127.0.0.1:8443').certificateAuthority).toBe(
      '127.0.0.1:8443',
    );
  });

  it.each<[string[], RegExp]>([
    [['--serial', '4F', '--request-id', 'r'], /exactly one/],
    [[], /exactly one/],
    [['--serial', '4F'], /needs --ca/],
    [['--request-id', 'r', '--force', 'yes'], /unknown argument "--force"/],
    [['--request-id'], /needs a value/],
  ])('refuses %j', (argv, words) => {
    expect(() => revocationFromArguments(argv)).toThrow(UsageError);
    expect(() => revocationFromArguments(argv)).toThrow(words);
  });
});
