import { createCertificate, type TestCertificate } from '../../../dev/pki/certificates';
import { caCertificatesOfPolicy } from '../../../shared/crypto/token';
import type { ProfilePolicy } from '../../../shared/digicert/types';
import { certificateFileName, policyCaCertificates } from '../../../shared/doctor/caCertificates';

function derBase64(certificate: TestCertificate): string {
  return certificate.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

let root: TestCertificate;
let intermediate: TestCertificate;
let issuing: TestCertificate;
let leaf: TestCertificate;
let otherRoot: TestCertificate;

beforeAll(() => {
  root = createCertificate({ subject: [{ shortName: 'CN', value: 'Contoso Root CA' }], isCa: true });
  intermediate = createCertificate({
    subject: [
      { shortName: 'O', value: 'Contoso' },
      { shortName: 'CN', value: 'Contoso Policy CA' },
    ],
    issuer: root,
    isCa: true,
  });
  issuing = createCertificate({
    subject: [{ shortName: 'CN', value: 'Contoso Issuing CA: G2/Ü' }],
    issuer: intermediate,
    isCa: true,
  });
  leaf = createCertificate({ subject: [{ shortName: 'CN', value: 'not a CA' }], issuer: issuing });
  // Another root under the same name (a renewed root): its file name must not overwrite the first.
  otherRoot = createCertificate({ subject: [{ shortName: 'CN', value: 'Contoso Root CA' }], isCa: true });
});

function policy(cas: ProfilePolicy['cas']): ProfilePolicy {
  return { profileOid: '1.2.3', nextUpdateHours: 1, subjectAttributes: [], sanAttributes: [], cas };
}

describe('policyCaCertificates', () => {
  it('reads root, intermediates and issuing CA, root first, each named after its CN; placeholders skipped', () => {
    const placeholder = Buffer.from('PLACEHOLDER').toString('base64');
    const { certificates, skipped } = policyCaCertificates(
      policy([
        {
          issuingCa: derBase64(issuing),
          intermediates: [derBase64(intermediate), placeholder],
          root: derBase64(root),
        },
        { issuingCa: derBase64(issuing), intermediates: [derBase64(leaf)], root: derBase64(otherRoot) },
      ]),
    );
    expect(certificates.map((certificate) => [certificate.role, certificate.fileName])).toEqual([
      ['root', 'Contoso-Root-CA.cer'],
      ['root', `Contoso-Root-CA-${certificates[1]!.thumbprint.slice(0, 8)}.cer`],
      ['intermediate', 'Contoso-Policy-CA.cer'],
      ['intermediate', 'Contoso-Issuing-CA-G2-U.cer'],
    ]);
    expect(certificates[2]).toMatchObject({
      subject: 'CN=Contoso Policy CA, O=Contoso',
      issuer: 'CN=Contoso Root CA',
      signedBy: 'CN=Contoso Root CA',
    });
    expect(certificates[3]!.signedBy).toBe('CN=Contoso Policy CA, O=Contoso');
    expect(certificates[0]!.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(certificates[0]!.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
    expect(certificates[0]!.der.equals(Buffer.from(derBase64(root), 'base64'))).toBe(true);
    expect(skipped).toEqual([
      'intermediate CA certificate 2 of CA entry 1: not a certificate (11 bytes that do not parse as X.509; a placeholder?)',
      'intermediate CA certificate 1 of CA entry 2: CN=not a CA is not a CA certificate (basicConstraints CA is not set)',
    ]);
  });

  it('has nothing to export from a policy without readable CA certificates', () => {
    const placeholder = Buffer.from('PLACEHOLDER').toString('base64');
    expect(
      policyCaCertificates(policy([{ issuingCa: placeholder, intermediates: [], root: placeholder }])),
    ).toEqual({
      certificates: [],
      skipped: [
        'root CA certificate: not a certificate (11 bytes that do not parse as X.509; a placeholder?)',
        'issuing CA certificate: not a certificate (11 bytes that do not parse as X.509; a placeholder?)',
      ],
    });
  });

  it('reads each entry by the rule the broker completes chains with: PEM armour tolerated, base64 required', () => {
    const { certificates, skipped } = policyCaCertificates(
      policy([{ issuingCa: 'not base64 at all!', intermediates: [], root: root.certPem }]),
    );
    expect(certificates.map((certificate) => certificate.fileName)).toEqual(['Contoso-Root-CA.cer']);
    expect(caCertificatesOfPolicy([{ intermediates: [], root: root.certPem }])).toEqual([
      certificates[0]!.der,
    ]);
    expect(skipped).toEqual(['issuing CA certificate: not a certificate (not base64; a placeholder?)']);
  });
});

describe('certificateFileName', () => {
  it.each([
    ['DigiCert Global Root G2', 'DigiCert-Global-Root-G2.cer'],
    ['../../etc/passwd', 'etc-passwd.cer'],
    ['Überprüfung CA', 'Uberprufung-CA.cer'],
    ['***', 'ABCDEF.cer'],
    [undefined, 'ABCDEF.cer'],
  ])('%s → %s', (commonName, expected) => {
    expect(certificateFileName(commonName, 'ABCDEF')).toBe(expected);
  });
});
