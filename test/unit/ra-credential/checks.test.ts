import { createPrivateKey, X509Certificate } from 'node:crypto';
import { BrokerError } from '../../../shared/contract/errors';
import {
  buildRaCredential,
  checkRaCertificate,
  describeLocation,
  type RaLocation,
} from '../../../shared/ra-credential/checks';
import type { RaKeyMaterial } from '../../../shared/ra-credential/material';
import { createRaFixtures, thumbprint, type RaFixtures } from '../../integration/ra-credential/raFixtures';
import type { TestCertificate } from '../../../dev/pki/certificates';

let fixtures: RaFixtures;
beforeAll(() => {
  fixtures = createRaFixtures();
});

const file: RaLocation = { kind: 'file', path: '/secure/ra.pfx' };
const vault: RaLocation = {
  kind: 'key-vault',
  vaultUrl: 'https://contoso-broker.vault.azure.net',
  certificateName: 'digicert-ra',
  version: '0123456789abcdef0123456789abcdef',
};

function x509(cert: TestCertificate): X509Certificate {
  return new X509Certificate(cert.certPem);
}

function material(certs: TestCertificate[], keyPems: string[]): RaKeyMaterial {
  return { certificates: certs.map(x509), privateKeys: keyPems.map((pem) => createPrivateKey(pem)) };
}

function thrown(action: () => unknown): BrokerError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as BrokerError).code).toBe('RA_CERT_UNAVAILABLE');
    expect((error as BrokerError).retryable).toBe(false);
    return error as BrokerError;
  }
  throw new Error('expected the check to fail');
}

const now = () => new Date();

describe('describeLocation', () => {
  it('names vault, certificate and version, or the file', () => {
    expect(describeLocation(vault)).toBe(
      'Key Vault certificate "digicert-ra" (version 0123456789abcdef0123456789abcdef) in https://contoso-broker.vault.azure.net',
    );
    expect(describeLocation({ ...vault, version: undefined })).toBe(
      'Key Vault certificate "digicert-ra" in https://contoso-broker.vault.azure.net',
    );
    expect(describeLocation(file)).toBe('file /secure/ra.pfx');
  });
});

describe('buildRaCredential', () => {
  it('finds the RA certificate by its key wherever it sits, keeps the rest as chain (deduplicated)', () => {
    const credential = buildRaCredential(
      material([fixtures.raCa, fixtures.ra, fixtures.raCa], [fixtures.ra.keyPem!]),
      {
        location: file,
        now: now(),
        missingKeyRemedy: 'n/a',
      },
    );
    expect(credential.thumbprint).toBe(thumbprint(fixtures.ra));
    expect(credential.chainPem).toEqual([x509(fixtures.raCa).toString()]);
    expect(credential.notAfter.getTime()).toBe(new Date(x509(fixtures.ra).validTo).getTime());
    expect(credential.source).toBe('file /secure/ra.pfx');
  });

  it('picks the right key out of several', () => {
    const credential = buildRaCredential(
      material([fixtures.ra], [fixtures.strangerKeyPem, fixtures.ra.keyPem!]),
      { location: file, now: now(), missingKeyRemedy: 'n/a' },
    );
    expect(createPrivateKey(credential.privateKeyPem).export({ type: 'pkcs8', format: 'pem' })).toBe(
      createPrivateKey(fixtures.ra.keyPem!).export({ type: 'pkcs8', format: 'pem' }),
    );
  });

  it('the certificate the source names wins over the key (Key Vault cer), so a mismatch is reported', () => {
    const error = thrown(() =>
      buildRaCredential(material([fixtures.ra, fixtures.raNext], [fixtures.raNext.keyPem!]), {
        location: vault,
        certificate: x509(fixtures.ra),
        now: now(),
        missingKeyRemedy: 'n/a',
      }),
    );
    expect(error.message).toMatch(
      /^RA certificate from Key Vault certificate "digicert-ra" \(version 0123\w+\) in https:\/\/contoso-broker\.vault\.azure\.net: private key does not match/,
    );
    expect(error.remedy).toContain(
      'as a new version of "digicert-ra" in https://contoso-broker.vault.azure.net',
    );
  });

  it('without a key: the first end-entity certificate is named, with the source-specific remedy', () => {
    const error = thrown(() =>
      buildRaCredential(material([fixtures.raCa, fixtures.ra], []), {
        location: file,
        now: now(),
        missingKeyRemedy: 'Export it with its private key.',
      }),
    );
    expect(error.message).toContain(
      `no private key: the RA certificate ${thumbprint(fixtures.ra)} came without`,
    );
    expect(error.remedy).toBe('Export it with its private key.');
  });

  it('an empty container', () => {
    const error = thrown(() =>
      buildRaCredential(
        { certificates: [], privateKeys: [] },
        { location: file, now: now(), missingKeyRemedy: 'n/a' },
      ),
    );
    expect(error.message).toBe('RA certificate from file /secure/ra.pfx: holds no certificate.');
  });
});

describe('checkRaCertificate', () => {
  it('accepts a pin in any case, with spaces or colons', () => {
    const spaced = thumbprint(fixtures.ra)
      .toLowerCase()
      .replace(/(..)(?!$)/g, '$1:');
    expect(() =>
      checkRaCertificate(x509(fixtures.ra), { location: file, thumbprintPin: spaced, now: now() }),
    ).not.toThrow();
  });

  it('validity is inclusive of notBefore and notAfter', () => {
    const cert = x509(fixtures.ra);
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    expect(() => checkRaCertificate(cert, { location: file, now: from })).not.toThrow();
    expect(() => checkRaCertificate(cert, { location: file, now: to })).not.toThrow();
    expect(
      thrown(() => checkRaCertificate(cert, { location: file, now: new Date(to.getTime() + 1000) })).message,
    ).toMatch(/expired: certificate [0-9A-F]{40} \(CN=Dev RA, O=Contoso\) expired on/);
    expect(
      thrown(() => checkRaCertificate(cert, { location: file, now: new Date(from.getTime() - 1000) }))
        .message,
    ).toMatch(/not yet valid/);
  });

  it('checks the pin before anything else (a wrong certificate is named as such even when expired)', () => {
    const error = thrown(() =>
      checkRaCertificate(x509(fixtures.expired), {
        location: vault,
        thumbprintPin: thumbprint(fixtures.ra),
        now: now(),
      }),
    );
    expect(error.message).toMatch(/thumbprint pin mismatch/);
    expect(error.remedy).toBe(
      `If ${thumbprint(fixtures.expired)} (CN=Dev RA expired) is the RA certificate you mean to use, update RA_CERT_THUMBPRINT to ${thumbprint(fixtures.expired)} (or to "${thumbprint(fixtures.ra)},${thumbprint(fixtures.expired)}" to accept both while you rotate); otherwise import into "digicert-ra" the pinned certificate ${thumbprint(fixtures.ra)}.`,
    );
  });

  it('accepts any of several pinned thumbprints (old and new while rotating), and names them all otherwise', () => {
    const cert = x509(fixtures.ra);
    expect(() =>
      checkRaCertificate(cert, {
        location: vault,
        thumbprintPin: [thumbprint(fixtures.expired), thumbprint(fixtures.ra).toLowerCase()],
        now: now(),
      }),
    ).not.toThrow();
    const error = thrown(() =>
      checkRaCertificate(cert, {
        location: vault,
        thumbprintPin: [thumbprint(fixtures.expired), thumbprint(fixtures.noEku)],
        now: now(),
      }),
    );
    expect(error.message).toContain(
      `RA_CERT_THUMBPRINT is ${thumbprint(fixtures.expired)}, ${thumbprint(fixtures.noEku)}.`,
    );
    expect(error.remedy).toMatch(/the pinned certificate \(one of [0-9A-F]{40}, [0-9A-F]{40}\)\.$/);
  });

  it('requires the client-authentication EKU (absent EKU is not accepted either)', () => {
    expect(
      thrown(() => checkRaCertificate(x509(fixtures.noEku), { location: file, now: now() })).message,
    ).toContain('has no EKU extension, but mutual TLS with DigiCert needs 1.3.6.1.5.5.7.3.2');
    expect(
      thrown(() => checkRaCertificate(x509(fixtures.serverAuthOnly), { location: file, now: now() })).message,
    ).toContain('has EKU 1.3.6.1.5.5.7.3.1,');
  });
});
