/**
 * The key usage (RFC 5280 §4.2.1.3) and extended key usage (§4.2.1.12) extensions of a DER certificate, read
 * with our DER reader: Node's X509Certificate lists the extended key usages but not the key usage bits.
 */
import { DerError, TAG, contentOf, decodeOid, expectTag, readChildren, readSingleElement } from '../der';

/** KeyUsage's named bits, in bit order. */
export const KEY_USAGE_BITS = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;

export type KeyUsageBit = (typeof KEY_USAGE_BITS)[number];

export interface KeyUsages {
  /** The key usage bits set; undefined when the certificate has no key usage extension (any usage). */
  keyUsage?: KeyUsageBit[];
  /** The extended key usage OIDs; undefined when the certificate has none (any purpose). */
  extendedKeyUsage?: string[];
}

const KEY_USAGE_OID = '2.5.29.15';
const EXTENDED_KEY_USAGE_OID = '2.5.29.37';
/** TBSCertificate's `extensions [3] EXPLICIT`. */
const EXTENSIONS_TAG = 0xa3;

function keyUsageBits(value: Buffer): KeyUsageBit[] {
  const bitString = readSingleElement(value);
  const content = contentOf(value, expectTag(bitString, TAG.BIT_STRING, 'KeyUsage'));
  if (content.length === 0) throw new DerError('KeyUsage: empty BIT STRING');
  const bits = content.subarray(1);
  return KEY_USAGE_BITS.filter((_, index) => ((bits[index >> 3] ?? 0) & (0x80 >> (index & 7))) !== 0);
}

function extendedKeyUsages(value: Buffer): string[] {
  const sequence = expectTag(readSingleElement(value), TAG.SEQUENCE, 'ExtKeyUsageSyntax');
  return readChildren(value, sequence).map((oid) =>
    decodeOid(contentOf(value, expectTag(oid, TAG.OID, 'KeyPurposeId'))),
  );
}

/** Reads both extensions of a DER certificate. Throws DerError when the structure does not parse. */
export function readKeyUsages(der: Buffer): KeyUsages {
  const certificate = expectTag(readSingleElement(der), TAG.SEQUENCE, 'Certificate');
  const [tbs] = readChildren(der, certificate);
  if (tbs === undefined) throw new DerError('Certificate is empty');
  const wrapper = readChildren(der, expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate')).find(
    (field) => field.tag === EXTENSIONS_TAG,
  );
  const usages: KeyUsages = {};
  if (wrapper === undefined) return usages;
  const [extensions] = readChildren(der, wrapper);
  if (extensions === undefined) return usages;
  for (const extension of readChildren(der, expectTag(extensions, TAG.SEQUENCE, 'Extensions'))) {
    const parts = readChildren(der, expectTag(extension, TAG.SEQUENCE, 'Extension'));
    const id = parts[0];
    const value = parts.at(-1);
    if (id === undefined || value === undefined || parts.length < 2)
      throw new DerError('Extension is incomplete');
    const oid = decodeOid(contentOf(der, expectTag(id, TAG.OID, 'extnID')));
    const octets = contentOf(der, expectTag(value, TAG.OCTET_STRING, 'extnValue'));
    if (oid === KEY_USAGE_OID) usages.keyUsage = keyUsageBits(octets);
    if (oid === EXTENDED_KEY_USAGE_OID) usages.extendedKeyUsage = extendedKeyUsages(octets);
  }
  return usages;
}
