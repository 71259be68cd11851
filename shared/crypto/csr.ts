/**
 * The PKCS#10 request, built as DER by hand: the otherName values go in byte for byte as the mapping decoded
 * them, and the signature is made by Node (native RSA or ECDSA), never by forge's JavaScript.
 */
import { sign } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { EnrollmentPlan } from '../mapping/types';
import {
  DerError,
  derBitString,
  derImplicitConstructed,
  derImplicitPrimitive,
  derNull,
  derOctetString,
  derOid,
  derOtherName,
  derSequence,
  derSet,
  derSmallInteger,
  derUtf8String,
  isIa5String,
  isValidOid,
  readSingleElement,
} from '../der';
import type { KeyPair } from './keys';
import { encodeName } from './distinguishedName';
import { OID_SID_EXTENSION, sidExtensionValue } from './sidExtension';

const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
/** ecdsa-with-SHA256 (RFC 5758 §3.2: its AlgorithmIdentifier has no parameters). */
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
/** Microsoft's User Principal Name otherName (szOID_NT_PRINCIPAL_NAME). */
export const OID_UPN = '1.3.6.1.4.1.311.20.2.3';

type CsrSanEntry = EnrollmentPlan['csrSan'][number];

function encodeGeneralName(entry: CsrSanEntry): Buffer {
  switch (entry.kind) {
    case 'email':
      if (entry.value.length === 0) {
        throw new BrokerError(
          'SAN_VALUE_MISSING',
          'subjectAlternativeNames: the e-mail address for the SAN is empty.',
        );
      }
      if (!isIa5String(entry.value)) {
        throw new BrokerError(
          'INVALID_REQUEST',
          `subjectAlternativeNames: the e-mail address "${entry.value}" must be ASCII: an rfc822Name (IA5String) cannot carry other characters.`,
        );
      }
      // rfc822Name [1] IMPLICIT IA5String
      return derImplicitPrimitive(1, Buffer.from(entry.value, 'latin1'));
    case 'upn':
      if (entry.value.length === 0) {
        throw new BrokerError('SAN_VALUE_MISSING', 'subjectAlternativeNames: the UPN for the SAN is empty.');
      }
      return derOtherName(OID_UPN, derUtf8String(entry.value));
    case 'otherName':
      if (!isValidOid(entry.oid)) {
        throw new BrokerError(
          'OTHERNAME_INVALID',
          `subjectAlternativeNames: the otherName type-id "${entry.oid}" is not a dotted-decimal OID.`,
        );
      }
      try {
        readSingleElement(entry.valueDer);
      } catch (error) {
        throw new BrokerError(
          'OTHERNAME_INVALID',
          `subjectAlternativeNames: the otherName ${entry.oid} value is not one well-formed DER element (${(error as Error).message}).`,
          { cause: error },
        );
      }
      return derOtherName(entry.oid, entry.valueDer);
  }
}

type CsrExtensions = Pick<EnrollmentPlan, 'csrSan' | 'csrSecurityIdentifier'>;

/** The Extension SEQUENCEs the CSR asks for: the SAN, and the SID extension of strong mapping. */
function requestedExtensions(plan: CsrExtensions, subjectIsEmpty: boolean): Buffer[] {
  const extensions: Buffer[] = [];
  if (plan.csrSan.length > 0) {
    const generalNames = derSequence(...plan.csrSan.map(encodeGeneralName));
    // RFC 5280 §4.2.1.6: the SAN is critical when the subject is empty.
    extensions.push(
      derSequence(
        derOid(OID_SUBJECT_ALT_NAME),
        ...(subjectIsEmpty ? [Buffer.from([0x01, 0x01, 0xff])] : []),
        derOctetString(generalNames),
      ),
    );
  }
  if (plan.csrSecurityIdentifier !== undefined) {
    // Non-critical, as Microsoft's CA issues it: readers that do not know it must still accept the certificate.
    extensions.push(
      derSequence(derOid(OID_SID_EXTENSION), derOctetString(sidExtensionValue(plan.csrSecurityIdentifier))),
    );
  }
  return extensions;
}

function extensionRequestAttributes(plan: CsrExtensions, subjectIsEmpty: boolean): Buffer {
  const extensions = requestedExtensions(plan, subjectIsEmpty);
  if (extensions.length === 0) return derImplicitConstructed(0, Buffer.alloc(0));
  const attribute = derSequence(derOid(OID_EXTENSION_REQUEST), derSet(derSequence(...extensions)));
  // attributes [0] IMPLICIT SET OF Attribute: with one member, the content is that attribute.
  return derImplicitConstructed(0, attribute);
}

/** The signature over the request info and its AlgorithmIdentifier: RSASSA-PKCS1-v1_5 or ECDSA, SHA-256. */
function signRequestInfo(requestInfo: Buffer, keys: KeyPair): { algorithm: Buffer; signature: Buffer } {
  if (keys.privateKey.asymmetricKeyType === 'ec') {
    // Ecdsa-Sig-Value (a DER SEQUENCE of r and s) is what X.509 and PKCS#10 carry in the BIT STRING.
    const signature = sign('sha256', requestInfo, { key: keys.privateKey, dsaEncoding: 'der' });
    return { algorithm: derSequence(derOid(OID_ECDSA_WITH_SHA256)), signature };
  }
  return {
    algorithm: derSequence(derOid(OID_SHA256_WITH_RSA), derNull()),
    signature: sign('sha256', requestInfo, keys.privateKey),
  };
}

/**
 * DER of a PKCS#10 CertificationRequest, signed sha256WithRSAEncryption (an RSA key) or ecdsa-with-SHA256 (an
 * EC P-256 key). The subject's RDNs are encoded in the order of `csrSubject` (its first entry is the first RDN
 * of the DER, i.e. the most general one); each value is a PrintableString where it can be, else a UTF8String
 * (E and DC: IA5String, C: PrintableString).
 */
export function createCsr(
  plan: Pick<EnrollmentPlan, 'csrSubject' | 'csrSan' | 'csrSecurityIdentifier'>,
  keys: KeyPair,
): Buffer {
  const keyType = keys.privateKey.asymmetricKeyType;
  const curve = keys.privateKey.asymmetricKeyDetails?.namedCurve;
  if (keyType !== 'rsa' && !(keyType === 'ec' && curve === 'prime256v1')) {
    const got = curve === undefined ? String(keyType) : `${String(keyType)} (${curve})`;
    throw new TypeError(`createCsr needs an RSA or an EC P-256 key, got ${got}`);
  }
  let requestInfo: Buffer;
  try {
    requestInfo = derSequence(
      derSmallInteger(0),
      encodeName(plan.csrSubject),
      keys.publicKey.export({ type: 'spki', format: 'der' }),
      extensionRequestAttributes(plan, plan.csrSubject.length === 0),
    );
  } catch (error) {
    if (error instanceof DerError || error instanceof RangeError) {
      throw new BrokerError('INVALID_REQUEST', `The CSR could not be encoded: ${error.message}.`, {
        cause: error,
      });
    }
    throw error;
  }
  const { algorithm, signature } = signRequestInfo(requestInfo, keys);
  return derSequence(requestInfo, algorithm, derBitString(signature));
}
