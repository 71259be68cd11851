import { X509Certificate } from 'node:crypto';
import forge from 'node-forge';
import {
  generateKeyPair,
  parseIssuedToken,
  summarizeCertificate,
  summarizeIssued,
  type KeyPair,
} from '../../../shared/crypto';
import { createTestPki, derOfPem, expectBrokerError, type TestPki } from './fixtures';

describe('summarizeCertificate', () => {
  let keys: KeyPair;
  let pki: TestPki;
  beforeAll(async () => {
    keys = await generateKeyPair(2048);
    pki = createTestPki(keys.publicKey, [
      { shortName: 'C', value: 'NL' },
      { shortName: 'O', value: 'Contoso, Ltd' },
      { shortName: 'E', value: 'IWUser0@contoso.onmicrosoft.com' },
      { shortName: 'CN', value: 'IWUser0' },
    ]);
  });

  it('gives the contract fields: names most specific first, upper hex, ISO dates, PEMs', () => {
    const summary = summarizeCertificate(pki.leaf.certPem, [pki.issuing.certPem, pki.root.certPem]);
    const node = new X509Certificate(pki.leaf.certPem);
    expect(summary).toEqual({
      serialNumber: node.serialNumber.replace(/^0+/, '').toUpperCase(),
      thumbprint: node.fingerprint.replace(/:/g, ''),
      subject: 'CN=IWUser0, E=IWUser0@contoso.onmicrosoft.com, O=Contoso\\, Ltd, C=NL',
      issuer: 'CN=Test Issuing CA, O=Test PKI',
      notBefore: pki.leaf.cert.validity.notBefore.toISOString().replace(/\.\d{3}Z$/, '.000Z'),
      notAfter: pki.leaf.cert.validity.notAfter.toISOString().replace(/\.\d{3}Z$/, '.000Z'),
      pem: node.toString(),
      chainPem: [
        new X509Certificate(pki.issuing.certPem).toString(),
        new X509Certificate(pki.root.certPem).toString(),
      ],
    });
    expect(summary.thumbprint).toMatch(/^[0-9A-F]{40}$/);
  });

  it("of the token's certificates as parsed, is the same block", () => {
    const leaf = new X509Certificate(pki.leaf.certPem);
    const issued = parseIssuedToken({ tokenDer: leaf.raw, tokenType: 'X509v3' }, keys.publicKey, [
      derOfPem(pki.issuing.certPem),
      derOfPem(pki.root.certPem),
    ]);
    expect(issued.chain).toHaveLength(2);
    expect(summarizeIssued(issued)).toEqual(summarizeCertificate(issued.leafPem, issued.chainPem));
    expect(summarizeIssued(issued)).toEqual(
      summarizeCertificate(pki.leaf.certPem, [pki.issuing.certPem, pki.root.certPem]),
    );
  });

  it('drops leading zeros of the serial and reads GeneralizedTime dates (2050 and later)', () => {
    const reissue = (serialHex: string, notAfter: Date) => {
      const cert = forge.pki.certificateFromPem(pki.leaf.certPem);
      cert.serialNumber = serialHex;
      cert.validity.notAfter = notAfter;
      cert.sign(pki.issuing.key!, forge.md.sha256.create());
      return forge.pki.certificateToPem(cert);
    };
    const late = new Date('2061-02-03T04:05:06Z');
    const withHighBit = summarizeCertificate(reissue('00ff01', late), []);
    expect(withHighBit.serialNumber).toBe('FF01');
    expect(withHighBit.notAfter).toBe('2061-02-03T04:05:06.000Z');
    expect(summarizeCertificate(reissue('0a1b', late), []).serialNumber).toBe('A1B');
    expect(summarizeCertificate(reissue('00', late), []).serialNumber).toBe('0');
  });

  it('rejects what is not a certificate', async () => {
    await expectBrokerError(
      () => summarizeCertificate('nonsense', []),
      'CA_REJECTED',
      /issued certificate is not a readable/,
    );
    await expectBrokerError(
      () => summarizeCertificate(pki.leaf.certPem, [pki.issuing.certPem, 'x']),
      'CA_REJECTED',
      /Chain certificate #2/,
    );
  });
});
