import { createCsr, generateKeyPair, type KeyPair } from '../../../shared/crypto';
import { contentOf, decodeOid, readChildren, readSingleElement, type DerElement } from '../../../shared/der';
import { OID_SID_EXTENSION, sidExtensionValue } from '../../../shared/crypto/sidExtension';

const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';

/**
 * The extension value for SID, made by another tool: OpenSSL 3.0's ASN1_generate_nconf from
 *
 *   asn1 = SEQUENCE:sid_extension
 *   [sid_extension]
 *   other_name = IMPLICIT:0,SEQUENCE:sid_other_name
 *   [sid_other_name]
 *   type_id = OID:1.3.6.1.4.1.311.25.2.1
 *   value = EXPLICIT:0,OCTETSTRING:S-1-5-21-3623811015-3361044348-30300820-1013
 *
 * with `openssl asn1parse -genconf sid.cnf -out sid.der` (test/integration/crypto/sidExtension.openssl.test.ts
 * runs the same at test time for several SIDs).
 */
const OPENSSL_SID_EXTENSION_HEX =
  '303ea03c060a2b060104018237190201a02e042c532d312d352d32312d333632333831313031352d333336313034343334382d33303330303832302d31303133';

/** The extensions of a CSR's extensionRequest attribute, as [OID, critical?, value DER]. */
function requestedExtensions(csr: Buffer): { oid: string; critical: boolean; value: Buffer }[] {
  const [requestInfo] = readChildren(csr, readSingleElement(csr));
  const [, , , attributes] = readChildren(csr, requestInfo!);
  return readChildren(csr, attributes!).flatMap((attribute) => {
    const [, values] = readChildren(csr, attribute);
    const [extensions] = readChildren(csr, values!);
    return readChildren(csr, extensions!).map((extension) => {
      const parts: DerElement[] = readChildren(csr, extension);
      return {
        oid: decodeOid(contentOf(csr, parts[0]!)),
        critical: parts.length === 3,
        value: contentOf(csr, parts[parts.length - 1]!),
      };
    });
  });
}

describe('sidExtensionValue (MS-WCCE 2.2.2.7.7.4)', () => {
  it('gives the bytes OpenSSL generates for the same structure', () => {
    expect(sidExtensionValue(SID).toString('hex')).toBe(OPENSSL_SID_EXTENSION_HEX);
  });

  it('refuses text that is not ASCII or empty (request validation lets no such SID through)', () => {
    expect(() => sidExtensionValue('S-1-5-21-１')).toThrow(RangeError);
    expect(() => sidExtensionValue('')).toThrow(RangeError);
  });
});

describe('createCsr with a SID', () => {
  let keys: KeyPair;
  beforeAll(async () => {
    keys = await generateKeyPair(2048);
  });

  it('asks for the non-critical 1.3.6.1.4.1.311.25.2 extension beside the SAN', () => {
    const csr = createCsr(
      {
        csrSubject: [{ shortName: 'CN', value: 'IWUser0' }],
        csrSan: [{ kind: 'email', value: 'IWUser0@contoso.onmicrosoft.com' }],
        csrSecurityIdentifier: SID,
      },
      keys,
    );
    const extensions = requestedExtensions(csr);
    expect(extensions.map((extension) => extension.oid)).toEqual(['2.5.29.17', OID_SID_EXTENSION]);
    expect(extensions[1]).toEqual({
      oid: OID_SID_EXTENSION,
      critical: false,
      value: Buffer.from(OPENSSL_SID_EXTENSION_HEX, 'hex'),
    });
  });

  it('carries the SID extension alone when there is no SAN, and none without a SID', () => {
    const subject = [{ shortName: 'CN', value: 'DEVICE-01' }];
    const alone = createCsr({ csrSubject: subject, csrSan: [], csrSecurityIdentifier: SID }, keys);
    expect(requestedExtensions(alone).map((extension) => extension.oid)).toEqual([OID_SID_EXTENSION]);
    expect(requestedExtensions(createCsr({ csrSubject: subject, csrSan: [] }, keys))).toEqual([]);
  });
});
