import { X509Certificate } from 'node:crypto';
import { createCertificate } from '../../../dev/pki/certificates';
import {
  caCertificatesOfPolicy,
  generateKeyPair,
  parseIssuedToken,
  parsedCaCertificatesOfPolicy,
  type KeyPair,
} from '../../../shared/crypto';
import {
  bytesOf,
  contentOf,
  derOid,
  derSequence,
  encodeTlv,
  readChildren,
  readSingleElement,
} from '../../../shared/der';
import { parseGetPoliciesResponse } from '../../../shared/digicert/policy';
import { parseSoapAnswer } from '../../../shared/digicert/soap';
import type { EnrollmentResponse, PolicyCaCertificates } from '../../../shared/digicert/types';
import {
  createEcCertificateDer,
  createTestPki,
  derOfPem,
  expectBrokerError,
  pkcs7CertsOnly,
  type TestPki,
} from './fixtures';

const pkcs7 = (tokenDer: Buffer, dispositionMessage?: string): EnrollmentResponse => ({
  tokenDer,
  tokenType: 'PKCS7',
  ...(dispositionMessage === undefined ? {} : { dispositionMessage }),
});

const samePem = (a: string, b: string) => new X509Certificate(a).raw.equals(new X509Certificate(b).raw);

/** The same PKCS#7 with BER indefinite lengths on ContentInfo, its [0] and SignedData (as some CAs send it). */
function toIndefiniteLength(der: Buffer): Buffer {
  const [oid, explicit] = readChildren(der, readSingleElement(der));
  const [signedData] = readChildren(der, explicit!);
  const indefinite = (tag: number, content: Buffer) =>
    Buffer.concat([Buffer.from([tag, 0x80]), content, Buffer.from([0, 0])]);
  return indefinite(
    0x30,
    Buffer.concat([bytesOf(der, oid!), indefinite(0xa0, indefinite(0x30, contentOf(der, signedData!)))]),
  );
}

describe('parseIssuedToken', () => {
  let keys: KeyPair;
  let pki: TestPki;
  beforeAll(async () => {
    keys = await generateKeyPair(2048);
    pki = createTestPki(keys.publicKey);
  });

  /** Same subject as the issuing CA, another key: the names match, the signatures do not. */
  const issuingCaImpostor = () =>
    createCertificate({
      subject: [
        { shortName: 'O', value: 'Test PKI' },
        { shortName: 'CN', value: 'Test Issuing CA' },
      ],
      issuer: pki.root,
      isCa: true,
    });

  it('finds our leaf and orders the chain issuer → root, whatever order the CA used', () => {
    const { leafPem, chainPem } = parseIssuedToken(
      pkcs7(pkcs7CertsOnly([pki.root, pki.leaf, pki.issuing])),
      keys.publicKey,
    );
    expect(samePem(leafPem, pki.leaf.certPem)).toBe(true);
    expect(chainPem).toHaveLength(2);
    expect(samePem(chainPem[0]!, pki.issuing.certPem)).toBe(true);
    expect(samePem(chainPem[1]!, pki.root.certPem)).toBe(true);
    expect(leafPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
  });

  it('keeps the certificates byte for byte', () => {
    const { leafPem } = parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf])), keys.publicKey);
    expect(derOfPem(leafPem).equals(derOfPem(pki.leaf.certPem))).toBe(true);
  });

  it('drops duplicates and certificates off the path, and skips a same-named CA with another key', () => {
    const stranger = createCertificate({ subject: [{ shortName: 'CN', value: 'Unrelated CA' }], isCa: true });
    const impostor = issuingCaImpostor();
    const token = pkcs7CertsOnly([stranger, impostor, pki.leaf, pki.issuing, pki.root, pki.issuing]);
    const { chainPem } = parseIssuedToken(pkcs7(token), keys.publicKey);
    expect(chainPem.map((pem) => new X509Certificate(pem).fingerprint256)).toEqual([
      new X509Certificate(pki.issuing.certPem).fingerprint256,
      new X509Certificate(pki.root.certPem).fingerprint256,
    ]);
  });

  it('returns a partial chain when the CA leaves out the root', () => {
    const { chainPem } = parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf, pki.issuing])), keys.publicKey);
    expect(chainPem).toHaveLength(1);
  });

  it('reads a single X.509 certificate', () => {
    const response: EnrollmentResponse = { tokenDer: derOfPem(pki.leaf.certPem), tokenType: 'X509v3' };
    const { leafPem, chainPem } = parseIssuedToken(response, keys.publicKey);
    expect(samePem(leafPem, pki.leaf.certPem)).toBe(true);
    expect(chainPem).toEqual([]);
  });

  it('reads BER indefinite-length PKCS#7 and tolerates a non-RSA certificate in the token', () => {
    const ec = createEcCertificateDer('EC Extra');
    const definite = pkcs7CertsOnly([pki.leaf, pki.issuing, pki.root]);
    const indefinite = toIndefiniteLength(definite);
    expect(indefinite[1]).toBe(0x80);
    expect(parseIssuedToken(pkcs7(indefinite), keys.publicKey).chainPem).toHaveLength(2);

    // Insert the EC certificate into the certificates set of a hand-made SignedData.
    const certificates = [ec.der, derOfPem(pki.leaf.certPem), derOfPem(pki.issuing.certPem)];
    const signedData = derSequence(
      Buffer.from('020101', 'hex'),
      Buffer.from('3100', 'hex'),
      derSequence(derOid('1.2.840.113549.1.7.1')),
      encodeTlv(0xa0, Buffer.concat(certificates)),
      Buffer.from('3100', 'hex'),
    );
    const handMade = derSequence(derOid('1.2.840.113549.1.7.2'), encodeTlv(0xa0, signedData));
    expect(parseIssuedToken(pkcs7(handMade), keys.publicKey).chainPem).toHaveLength(1);
  });

  it('says the CA returned no certificate for our key, with the CA disposition as caMessage', async () => {
    const other = await generateKeyPair(2048);
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf, pki.issuing]), 'Issued'), other.publicKey),
      'CA_REJECTED',
      /the CA returned no certificate for our key/i,
    );
    let caught: unknown;
    try {
      parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.issuing]), 'Issued'), keys.publicKey);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'CA_REJECTED', caMessage: 'Issued', retryable: false });
  });

  it('takes a certificate whose key cannot be decoded for not ours, instead of throwing', async () => {
    // Node parses the certificate and decodes its key only when asked (ERR_OSSL_EVP_DECODE_ERROR then).
    const damaged = derOfPem(pki.issuing.certPem);
    const keyStart = damaged.indexOf(Buffer.from('0382010f00', 'hex')) + 5;
    damaged[keyStart] = 0x00; // the RSAPublicKey SEQUENCE tag inside the BIT STRING
    expect(() => new X509Certificate(damaged).publicKey).toThrow();
    await expectBrokerError(
      () => parseIssuedToken({ tokenDer: damaged, tokenType: 'X509v3' }, keys.publicKey),
      'CA_REJECTED',
      /the CA returned no certificate for our key/i,
    );
    const signedData = derSequence(
      Buffer.from('020101', 'hex'),
      Buffer.from('3100', 'hex'),
      derSequence(derOid('1.2.840.113549.1.7.1')),
      encodeTlv(0xa0, Buffer.concat([damaged, derOfPem(pki.leaf.certPem)])),
      Buffer.from('3100', 'hex'),
    );
    const token = derSequence(derOid('1.2.840.113549.1.7.2'), encodeTlv(0xa0, signedData));
    const { leafPem } = parseIssuedToken(pkcs7(token), keys.publicKey);
    expect(samePem(leafPem, pki.leaf.certPem)).toBe(true);
  });

  it('rejects tokens it cannot read as CA_REJECTED', async () => {
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(Buffer.alloc(0)), keys.publicKey),
      'CA_REJECTED',
      /PKCS#7 token is empty/,
    );
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(Buffer.from('not a token at all')), keys.publicKey),
      'CA_REJECTED',
      /PKCS#7 token could not be read/,
    );
    const definite = pkcs7CertsOnly([pki.leaf]);
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(definite.subarray(0, definite.length - 20)), keys.publicKey),
      'CA_REJECTED',
      /could not be read: truncated/,
    );
    const data = derSequence(
      derOid('1.2.840.113549.1.7.1'),
      encodeTlv(0xa0, encodeTlv(0x04, Buffer.from('x'))),
    );
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(data), keys.publicKey),
      'CA_REJECTED',
      /1\.2\.840\.113549\.1\.7\.1, not SignedData/,
    );
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(pkcs7CertsOnly([])), keys.publicKey),
      'CA_REJECTED',
      /holds no certificates/,
    );
    const brokenCertificate = derSequence(derSequence(Buffer.from('020101', 'hex')));
    await expectBrokerError(
      () => parseIssuedToken({ tokenDer: brokenCertificate, tokenType: 'X509v3' }, keys.publicKey),
      'CA_REJECTED',
      /Certificate #1 in the CA's X\.509 token could not be read/,
    );
  });

  it('refuses a leaf signed by a same-named impostor CA although the token carries the real one', async () => {
    const impostor = issuingCaImpostor();
    const forged = createCertificate({
      subject: [{ shortName: 'CN', value: 'IWUser0' }],
      issuer: impostor,
      publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      extKeyUsage: ['clientAuth'],
    });
    // The token carries the real issuing CA and root: the names chain, the signature does not.
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(pkcs7CertsOnly([forged, pki.issuing, pki.root])), keys.publicKey),
      'CA_REJECTED',
      // (The impostor's key identifier differs; one that copies it is the simulator's brokenChain.)
      /does not chain: for the issued certificate, none of the 2 other certificate\(s\) in the token issued it/,
    );
  });

  it('refuses a token whose CA certificates did not issue the leaf; a leaf alone is still taken', async () => {
    const stranger = createCertificate({ subject: [{ shortName: 'CN', value: 'Unrelated CA' }], isCa: true });
    await expectBrokerError(
      () => parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf, stranger])), keys.publicKey),
      'CA_REJECTED',
      /does not chain: for the issued certificate, none of the 1 other certificate\(s\) in the token issued it/,
    );
    expect(parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf])), keys.publicKey).chainPem).toEqual([]);
  });

  describe('completing the chain from the policy’s CA certificates', () => {
    const der = (certificate: { certPem: string }) => derOfPem(certificate.certPem);
    const fingerprints = (chainPem: string[]) =>
      chainPem.map((pem) => new X509Certificate(pem).fingerprint256);
    const expectedChain = () => [
      new X509Certificate(pki.issuing.certPem).fingerprint256,
      new X509Certificate(pki.root.certPem).fingerprint256,
    ];
    const placeholder = Buffer.from('PLACEHOLDER');

    it('completes a single X.509 certificate (the CA ignored our PKCS#7 request) up to the root', () => {
      const response: EnrollmentResponse = { tokenDer: der(pki.leaf), tokenType: 'X509v3' };
      const { leafPem, chainPem } = parseIssuedToken(response, keys.publicKey, [
        placeholder,
        der(pki.root),
        der(pki.issuing),
      ]);
      expect(samePem(leafPem, pki.leaf.certPem)).toBe(true);
      expect(fingerprints(chainPem)).toEqual(expectedChain());
    });

    it('completes a PKCS#7 chain that stops short of a self-signed root', () => {
      const { chainPem } = parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf, pki.issuing])), keys.publicKey, [
        der(pki.issuing),
        der(pki.root),
      ]);
      expect(fingerprints(chainPem)).toEqual(expectedChain());
    });

    it('prefers the token’s certificates and ignores unrelated or unreadable extras', () => {
      const stranger = createCertificate({
        subject: [{ shortName: 'CN', value: 'Stranger CA' }],
        isCa: true,
      });
      const full = parseIssuedToken(
        pkcs7(pkcs7CertsOnly([pki.leaf, pki.issuing, pki.root])),
        keys.publicKey,
        [der(stranger), der(pki.root), placeholder],
      );
      expect(fingerprints(full.chainPem)).toEqual(expectedChain());
      const unrelated = parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.leaf])), keys.publicKey, [der(stranger)]);
      expect(unrelated.chainPem).toEqual([]);
    });

    it('never takes the leaf from the extras', async () => {
      await expectBrokerError(
        () => parseIssuedToken(pkcs7(pkcs7CertsOnly([pki.issuing])), keys.publicKey, [der(pki.leaf)]),
        'CA_REJECTED',
        /no certificate for our key/,
      );
    });

    it('reads a PkiPath (SEQUENCE OF Certificate) token', () => {
      const path = derSequence(der(pki.root), der(pki.issuing), der(pki.leaf));
      const { leafPem, chainPem } = parseIssuedToken({ tokenDer: path, tokenType: 'X509v3' }, keys.publicKey);
      expect(samePem(leafPem, pki.leaf.certPem)).toBe(true);
      expect(fingerprints(chainPem)).toEqual(expectedChain());
    });

    it('caCertificatesOfPolicy: issuing CA, intermediates and root as DER, placeholders and duplicates left out', () => {
      const base64 = (certificate: { certPem: string }) => der(certificate).toString('base64');
      const cas: PolicyCaCertificates[] = [
        {
          issuingCa: base64(pki.issuing),
          intermediates: ['UExBQ0VIT0xERVI=', 'not base64 at all!'],
          root: 'UExBQ0VIT0xERVI=',
        },
        { intermediates: [], root: pki.root.certPem },
        { issuingCa: base64(pki.issuing), intermediates: [base64(pki.root)] },
      ];
      const ders = caCertificatesOfPolicy(cas);
      expect(ders.map((value) => new X509Certificate(value).fingerprint256)).toEqual(expectedChain());
      expect(caCertificatesOfPolicy([])).toEqual([]);
    });

    it('parsedCaCertificatesOfPolicy: the same certificates, read once per policy, completing the same chain', () => {
      const cas: PolicyCaCertificates[] = [
        {
          issuingCa: der(pki.issuing).toString('base64'),
          intermediates: ['UExBQ0VIT0xERVI='],
          root: pki.root.certPem,
        },
      ];
      const parsed = parsedCaCertificatesOfPolicy(cas);
      expect(parsed.map((certificate) => certificate.raw)).toEqual(caCertificatesOfPolicy(cas));
      expect(parsedCaCertificatesOfPolicy(cas)).toBe(parsed);
      expect(parsedCaCertificatesOfPolicy([...cas])).not.toBe(parsed);
      const token = { tokenDer: der(pki.leaf), tokenType: 'X509v3' as const };
      const fromParsed = parseIssuedToken(token, keys.publicKey, parsed);
      expect(fingerprints(fromParsed.chainPem)).toEqual(expectedChain());
      expect(fromParsed.chainPem).toEqual(
        parseIssuedToken(token, keys.publicKey, caCertificatesOfPolicy(cas)).chainPem,
      );
    });

    it('from a getPoliciesResponse to a complete chain', () => {
      const base64 = (certificate: { certPem: string }) => der(certificate).toString('base64');
      const profile = '2.16.840.1.113733.1.16.1.2.3.1.1.61234567';
      const answer = parseSoapAnswer(
        `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><getPoliciesResponse>` +
          `<response><nextUpdateHours>1</nextUpdateHours><policies><policy><policyOIDReference>1</policyOIDReference>` +
          `<cAs><cAReference>4</cAReference></cAs><attributes/></policy></policies></response>` +
          `<cAs><cA><certificate>${base64(pki.issuing)}</certificate><cAReferenceID>4</cAReferenceID>` +
          `<rootCACertificate>${base64(pki.root)}</rootCACertificate></cA></cAs>` +
          `<oIDs><oID><value>${profile}</value><oIDReferenceID>1</oIDReferenceID></oID></oIDs>` +
          `</getPoliciesResponse></s:Body></s:Envelope>`,
      );
      const policy = parseGetPoliciesResponse(answer.body, profile, {
        operation: 'getPolicies',
        caHost: 'ca.fabrikam.test',
        service: 'policyService',
      });
      const { chainPem } = parseIssuedToken(
        { tokenDer: der(pki.leaf), tokenType: 'X509v3' },
        keys.publicKey,
        caCertificatesOfPolicy(policy.cas),
      );
      expect(fingerprints(chainPem)).toEqual(expectedChain());
    });
  });
});
