import { verify } from 'node:crypto';
import forge from 'node-forge';
import { createCsr, generateKeyPair, type KeyPair } from '../../../shared/crypto';
import { bytesOf, contentOf, readChildren, readSingleElement, type DerElement } from '../../../shared/der';
import type { EnrollmentPlan } from '../../../shared/mapping/types';
import { expectBrokerError } from './fixtures';

type CsrPlan = Pick<EnrollmentPlan, 'csrSubject' | 'csrSan'>;

/** objectGUID as the mapping decodes it from hex: OCTET STRING of 16 bytes. */
const OBJECT_GUID_DER = Buffer.from('0410b8ba0c5d2f3e4a1b9c8d7e6f50413243', 'hex');

const fullPlan: CsrPlan = {
  csrSubject: [
    { shortName: 'C', value: 'NL' },
    { shortName: 'ST', value: 'Noord-Holland' },
    { shortName: 'L', value: 'Amsterdam' },
    { shortName: 'O', value: 'Contoso B.V.' },
    { shortName: 'OU', value: 'Ontwikkeling & Beheer' },
    { shortName: 'CN', value: 'IWUser0' },
    { shortName: 'E', value: 'IWUser0@contoso.onmicrosoft.com' },
  ],
  csrSan: [
    { kind: 'email', value: 'IWUser0@contoso.onmicrosoft.com' },
    { kind: 'upn', value: 'iwüser0@contoso.onmicrosoft.com' },
    { kind: 'otherName', oid: '1.3.6.1.4.1.311.25.1', valueDer: OBJECT_GUID_DER },
  ],
};

interface ParsedCsr {
  der: Buffer;
  requestInfo: DerElement;
  subjectValues: { tag: number; text: string }[];
  sanDer: Buffer | undefined;
  signature: Buffer;
}

function parseCsr(der: Buffer): ParsedCsr {
  const [requestInfo, , signatureBits] = readChildren(der, readSingleElement(der));
  const [, subject, , attributes] = readChildren(der, requestInfo!);
  const subjectValues = readChildren(der, subject!).map((rdn) => {
    const [attribute] = readChildren(der, rdn);
    const [, value] = readChildren(der, attribute!);
    return { tag: value!.tag, text: contentOf(der, value!).toString('utf8') };
  });
  let sanDer: Buffer | undefined;
  for (const attribute of readChildren(der, attributes!)) {
    const [, values] = readChildren(der, attribute);
    const [extensions] = readChildren(der, values!);
    for (const extension of readChildren(der, extensions!)) {
      const parts = readChildren(der, extension);
      sanDer = contentOf(der, parts[parts.length - 1]!);
    }
  }
  return {
    der,
    requestInfo: requestInfo!,
    subjectValues,
    sanDer,
    signature: contentOf(der, signatureBits!).subarray(1),
  };
}

describe('createCsr', () => {
  let keys: KeyPair;
  beforeAll(async () => {
    keys = await generateKeyPair(2048);
  });

  it('is signed sha256WithRSA by our key (checked natively and by forge)', () => {
    const csr = parseCsr(createCsr(fullPlan, keys));
    const tbs = bytesOf(csr.der, csr.requestInfo);
    expect(verify('sha256', tbs, keys.publicKey, csr.signature)).toBe(true);

    const forgeCsr = forge.pki.certificationRequestFromAsn1(
      forge.asn1.fromDer(forge.util.createBuffer(csr.der.toString('binary'))),
    );
    expect(forgeCsr.verify()).toBe(true);
    expect(forgeCsr.signatureOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect(forge.pki.publicKeyToPem(forgeCsr.publicKey!).replace(/\r/g, '')).toBe(
      keys.publicKey.export({ type: 'spki', format: 'pem' }),
    );
  });

  it('encodes the subject in order, PrintableString where it fits, UTF8String, IA5String for E', () => {
    const { subjectValues } = parseCsr(createCsr(fullPlan, keys));
    expect(subjectValues).toEqual([
      { tag: 0x13, text: 'NL' },
      { tag: 0x13, text: 'Noord-Holland' },
      { tag: 0x13, text: 'Amsterdam' },
      { tag: 0x13, text: 'Contoso B.V.' },
      { tag: 0x0c, text: 'Ontwikkeling & Beheer' },
      { tag: 0x13, text: 'IWUser0' },
      { tag: 0x16, text: 'IWUser0@contoso.onmicrosoft.com' },
    ]);
  });

  it('puts rfc822Name, the UPN otherName and the given otherName bytes in the SAN', () => {
    const { sanDer } = parseCsr(createCsr(fullPlan, keys));
    const upn = Buffer.from('iwüser0@contoso.onmicrosoft.com', 'utf8');
    const expected = Buffer.concat([
      Buffer.from([0x81, 31]),
      Buffer.from('IWUser0@contoso.onmicrosoft.com'),
      // [0] { OID 1.3.6.1.4.1.311.20.2.3, [0] { UTF8String } }
      Buffer.from([0xa0, 12 + 4 + upn.length, 0x06, 0x0a]),
      Buffer.from('2b060104018237140203', 'hex'),
      Buffer.from([0xa0, upn.length + 2, 0x0c, upn.length]),
      upn,
      // [0] { OID 1.3.6.1.4.1.311.25.1, [0] { the valueDer as given } }
      Buffer.from([0xa0, 11 + 2 + OBJECT_GUID_DER.length, 0x06, 0x09]),
      Buffer.from('2b0601040182371901', 'hex'),
      Buffer.from([0xa0, OBJECT_GUID_DER.length]),
      OBJECT_GUID_DER,
    ]);
    expect(sanDer?.toString('hex')).toBe(
      Buffer.concat([Buffer.from([0x30, expected.length]), expected]).toString('hex'),
    );
  });

  it('leaves the attributes empty without SAN entries, and marks the SAN critical for an empty subject', () => {
    const bare = parseCsr(createCsr({ csrSubject: [{ shortName: 'CN', value: 'x' }], csrSan: [] }, keys));
    const [, , , attributes] = readChildren(bare.der, bare.requestInfo);
    expect(bytesOf(bare.der, attributes!).toString('hex')).toBe('a000');

    const noSubject = createCsr({ csrSubject: [], csrSan: [{ kind: 'email', value: 'a@b.c' }] }, keys);
    expect(noSubject.includes(Buffer.from('0603551d110101ff', 'hex'))).toBe(true);
  });

  it('handles SANs longer than 127 bytes', () => {
    const many: CsrPlan = {
      csrSubject: [{ shortName: 'CN', value: 'x'.repeat(60) }],
      csrSan: Array.from({ length: 12 }, (_, i) => ({
        kind: 'email' as const,
        value: `user${i}@${'d'.repeat(40)}.example`,
      })),
    };
    const csr = parseCsr(createCsr(many, keys));
    expect(verify('sha256', bytesOf(csr.der, csr.requestInfo), keys.publicKey, csr.signature)).toBe(true);
    expect(csr.sanDer!.length).toBeGreaterThan(500);
  });

  it('rejects what it cannot encode with the contract codes', async () => {
    const withSubject = (shortName: string, value: string): CsrPlan => ({
      csrSubject: [{ shortName, value }],
      csrSan: [],
    });
    const withSan = (entry: EnrollmentPlan['csrSan'][number]): CsrPlan => ({
      csrSubject: [{ shortName: 'CN', value: 'x' }],
      csrSan: [entry],
    });
    await expectBrokerError(
      () => createCsr(withSubject('XYZ', 'v'), keys),
      'POLICY_MISMATCH',
      /"XYZ" is not supported/,
    );
    await expectBrokerError(
      () => createCsr(withSubject('C', 'NLD'), keys),
      'POLICY_MISMATCH',
      /C: "NLD" is not a two-letter/,
    );
    await expectBrokerError(
      () => createCsr(withSubject('CN', ''), keys),
      'POLICY_MISMATCH',
      /CN has an empty value/,
    );
    await expectBrokerError(
      () => createCsr(withSubject('E', 'jörg@x.nl'), keys),
      'INVALID_REQUEST',
      /subjectName.*E.*ASCII/,
    );
    await expectBrokerError(
      () => createCsr(withSan({ kind: 'email', value: 'jörg@x.nl' }), keys),
      'INVALID_REQUEST',
      /subjectAlternativeNames.*ASCII/,
    );
    await expectBrokerError(
      () => createCsr(withSan({ kind: 'upn', value: '' }), keys),
      'SAN_VALUE_MISSING',
      /UPN/,
    );
    await expectBrokerError(
      () => createCsr(withSan({ kind: 'otherName', oid: '1.2.x', valueDer: OBJECT_GUID_DER }), keys),
      'OTHERNAME_INVALID',
      /"1.2.x" is not a dotted-decimal OID/,
    );
    await expectBrokerError(
      () =>
        createCsr(
          withSan({ kind: 'otherName', oid: '1.2.3', valueDer: OBJECT_GUID_DER.subarray(0, 10) }),
          keys,
        ),
      'OTHERNAME_INVALID',
      /1\.2\.3 value is not one well-formed DER element/,
    );
  });

  it('accepts long attribute names, OIDs and case-insensitive short names', () => {
    const csr = parseCsr(
      createCsr(
        {
          csrSubject: [
            { shortName: 'organizationName', value: 'Contoso' },
            { shortName: 'OID.2.5.4.97', value: 'VATNL-123' },
            { shortName: 'cn', value: 'Zoë' },
          ],
          csrSan: [],
        },
        keys,
      ),
    );
    expect(csr.subjectValues).toEqual([
      { tag: 0x13, text: 'Contoso' },
      { tag: 0x13, text: 'VATNL-123' },
      { tag: 0x0c, text: 'Zoë' },
    ]);
  });
});

describe('generateKeyPair', () => {
  it('makes RSA key objects of the asked size with exponent 65537', async () => {
    const keys = await generateKeyPair(3072);
    expect(keys.bits).toBe(3072);
    expect(keys.privateKey.type).toBe('private');
    expect(keys.publicKey.type).toBe('public');
    expect(keys.privateKey.asymmetricKeyDetails).toMatchObject({
      modulusLength: 3072,
      publicExponent: 65537n,
    });
  });

  it('refuses other sizes', async () => {
    await expectBrokerError(() => generateKeyPair(1024 as 2048), 'INVALID_REQUEST', /keySize: 1024/);
  });
});
