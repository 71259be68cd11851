/**
 * The CA's answer: a PKCS#7 SignedData (certs-only) with the leaf and its chain, or one X.509 certificate.
 * The certificates are sliced out of the PKCS#7 as they are (never re-encoded) and read by Node, so any key
 * type in the chain is fine. The leaf is the one certificate that carries our public key; the chain is found
 * by following issuer names (and key identifiers) with OpenSSL's issuer check plus a signature check.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { EnrollmentResponse } from '../digicert/types';
import { TAG, bytesOf, contentOf, decodeOid, expectTag, readChildren, readSingleElement } from './der';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';

export interface IssuedCertificates {
  leafPem: string;
  /** The leaf's issuer first, then its issuer, … up to the root (as far as the CA sent them). */
  chainPem: string[];
}

function rejected(response: EnrollmentResponse, message: string, cause?: unknown): BrokerError {
  return new BrokerError('CA_REJECTED', message, {
    ...(response.dispositionMessage ? { caMessage: response.dispositionMessage } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** DER slices of the certificates in the token (a certificate on its own, or a PKCS#7 SignedData's set). */
function certificateDers(token: Buffer): Buffer[] {
  const outer = expectTag(readSingleElement(token), TAG.SEQUENCE, 'token');
  const [first, content] = readChildren(token, outer);
  if (first?.tag !== TAG.OID) return [token]; // a Certificate starts with its TBSCertificate, not an OID

  const contentType = decodeOid(contentOf(token, first));
  if (contentType !== OID_SIGNED_DATA)
    throw new Error(`its PKCS#7 content type is ${contentType}, not SignedData`);
  if (content === undefined) throw new Error('its PKCS#7 ContentInfo has no content');
  const [signedData] = readChildren(token, expectTag(content, 0xa0, 'ContentInfo content'));
  if (signedData === undefined) throw new Error('its PKCS#7 ContentInfo content is empty');
  // SignedData: version, digestAlgorithms, encapContentInfo, [0] IMPLICIT certificates OPTIONAL, [1] crls, signerInfos
  const certificates = readChildren(token, expectTag(signedData, TAG.SEQUENCE, 'SignedData'))
    .slice(3)
    .find((field) => field.tag === 0xa0);
  if (certificates === undefined) return [];
  return readChildren(token, certificates)
    .filter((choice) => choice.tag === TAG.SEQUENCE) // skip attribute certificates and other CHOICE arms
    .map((certificate) => Buffer.from(bytesOf(token, certificate)));
}

function sameKey(certificate: X509Certificate, spki: Buffer): boolean {
  return certificate.publicKey.export({ type: 'spki', format: 'der' }).equals(spki);
}

function isIssuedBy(certificate: X509Certificate, candidate: X509Certificate): boolean {
  if (!certificate.checkIssued(candidate)) return false;
  try {
    return certificate.verify(candidate.publicKey);
  } catch {
    return false;
  }
}

/** The leaf for `publicKey` and its chain (leaf's issuer → … → root). Certificates off that path are dropped. */
export function parseIssuedToken(response: EnrollmentResponse, publicKey: KeyObject): IssuedCertificates {
  const token = response.tokenDer;
  const tokenName = response.tokenType === 'PKCS7' ? 'PKCS#7 token' : 'X.509 token';
  if (token.length === 0) throw rejected(response, `The CA's ${tokenName} is empty.`);

  let ders: Buffer[];
  try {
    ders = certificateDers(token);
  } catch (error) {
    throw rejected(response, `The CA's ${tokenName} could not be read: ${(error as Error).message}.`, error);
  }
  if (ders.length === 0) throw rejected(response, `The CA's ${tokenName} holds no certificates.`);

  const certificates: X509Certificate[] = [];
  for (const [index, der] of ders.entries()) {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(der);
    } catch (error) {
      throw rejected(
        response,
        `Certificate #${index + 1} in the CA's ${tokenName} could not be read: ${(error as Error).message}.`,
        error,
      );
    }
    if (!certificates.some((known) => known.raw.equals(certificate.raw))) certificates.push(certificate);
  }

  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const leaf = certificates.find((certificate) => sameKey(certificate, spki));
  if (leaf === undefined) {
    throw rejected(
      response,
      `The CA returned no certificate for our key (its ${tokenName} holds ${certificates.length} certificate(s), none with the CSR's public key).`,
    );
  }

  const chain: X509Certificate[] = [];
  const used = new Set<X509Certificate>([leaf]);
  for (let current = leaf; !current.checkIssued(current);) {
    const issuer = certificates.find((candidate) => !used.has(candidate) && isIssuedBy(current, candidate));
    if (issuer === undefined) break;
    chain.push(issuer);
    used.add(issuer);
    current = issuer;
  }
  return { leafPem: leaf.toString(), chainPem: chain.map((certificate) => certificate.toString()) };
}
