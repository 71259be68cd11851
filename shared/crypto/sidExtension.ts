/**
 * The SID extension of strong certificate mapping (Microsoft KB5014754): szOID_NTDS_CA_SECURITY_EXT,
 * encoded as MS-WCCE 2.2.2.7.7.4 specifies — a GeneralNames-shaped SEQUENCE holding one otherName of type
 * szOID_NTDS_OBJECTSID whose value is the SID's ASCII text as an OCTET STRING:
 *
 *   SEQUENCE { [0] { OID 1.3.6.1.4.1.311.25.2.1, [0] EXPLICIT OCTET STRING "S-1-5-21-…" } }
 *
 * The same layout as public encoders (PSPKI's X509NtdsSecurityExtension, TameMyCerts) and as
 * `openssl asn1parse -genconf` builds it in the tests. A domain controller compares the SID with the
 * account's objectSid when it maps the certificate.
 */
import { derOctetString, derOtherName, derSequence, isIa5String } from '../der';

/** szOID_NTDS_CA_SECURITY_EXT: the extension a profile's SID field declares. */
export const OID_SID_EXTENSION = '1.3.6.1.4.1.311.25.2';
/** szOID_NTDS_OBJECTSID: the otherName type inside it (also the @type of the profile's SID attribute). */
export const OID_SID_OTHER_NAME = '1.3.6.1.4.1.311.25.2.1';

/**
 * DER of the extension value (what the Extension's extnValue OCTET STRING holds) for `sid`, already checked
 * against the contract's SID rule (request validation): ASCII only, so its bytes are its characters.
 */
export function sidExtensionValue(sid: string): Buffer {
  if (sid === '' || !isIa5String(sid)) throw new RangeError('a SID must be non-empty ASCII text');
  return derSequence(derOtherName(OID_SID_OTHER_NAME, derOctetString(Buffer.from(sid, 'ascii'))));
}
