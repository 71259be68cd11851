/**
 * Reading X.509 certificates: Node's X509Certificate for the checks OpenSSL does well (issuer matching,
 * signatures, keys), our DER reader for the fields we print, so their form does not depend on OpenSSL's.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { IssuedCertificateSummary } from '../contract/types';
import {
  DerError,
  TAG,
  contentOf,
  expectTag,
  readChildren,
  readSingleElement,
  type DerElement,
} from '../der';
import { formatName } from './distinguishedName';
import { issuedCertificates, type IssuedCertificates } from './token';

export interface CertificateDetails {
  /** Upper-case hex without leading zeros. */
  serialNumber: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
}

/** Upper-case hex SHA-1 of the DER: what Windows calls the thumbprint. */
export function sha1Thumbprint(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

function parseTime(buffer: Buffer, element: DerElement): Date {
  const text = contentOf(buffer, element).toString('latin1');
  let match: RegExpMatchArray | null;
  let year: number;
  if (element.tag === TAG.UTC_TIME) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (match === null) throw new DerError(`UTCTime "${text}" is not YYMMDDHHMMSSZ`);
    const twoDigits = Number(match[1]);
    year = twoDigits >= 50 ? 1900 + twoDigits : 2000 + twoDigits; // RFC 5280 §4.1.2.5.1
  } else if (element.tag === TAG.GENERALIZED_TIME) {
    // eslint-disable-next-line security/detect-unsafe-regex -- fixed-width digits and one optional fraction: linear
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
    if (match === null) throw new DerError(`GeneralizedTime "${text}" is not YYYYMMDDHHMMSSZ`);
    year = Number(match[1]);
  } else {
    throw new DerError(`validity time has tag 0x${element.tag.toString(16)}`);
  }
  const [month, day, hour, minute, second] = match.slice(2, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** Serial, names and validity of a DER certificate. Throws DerError when the structure is not a certificate. */
export function readCertificateDetails(der: Buffer): CertificateDetails {
  const certificate = expectTag(readSingleElement(der), TAG.SEQUENCE, 'Certificate');
  const [tbs] = readChildren(der, certificate);
  if (tbs === undefined) throw new DerError('Certificate is empty');
  const fields = readChildren(der, expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate'));
  // version is [0] EXPLICIT and optional (absent for v1 certificates).
  const rest = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  const [serial, , issuer, validity, subject] = rest;
  if (serial === undefined || issuer === undefined || validity === undefined || subject === undefined) {
    throw new DerError('TBSCertificate is incomplete');
  }
  const [notBefore, notAfter] = readChildren(der, expectTag(validity, TAG.SEQUENCE, 'Validity'));
  if (notBefore === undefined || notAfter === undefined) throw new DerError('Validity is incomplete');
  const serialHex = contentOf(der, expectTag(serial, TAG.INTEGER, 'serialNumber'))
    .toString('hex')
    .toUpperCase();
  return {
    serialNumber: serialHex.replace(/^0+(?=.)/, ''),
    subject: formatName(der, subject),
    issuer: formatName(der, issuer),
    notBefore: parseTime(der, notBefore),
    notAfter: parseTime(der, notAfter),
  };
}

/** Parses one PEM certificate (or returns undefined when the text is not one). */
function certificateFromPem(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/**
 * The result's `certificate` block. subject/issuer: RFC 4514 escaping, most specific RDN first, ", " between
 * RDNs (as Windows shows them). serialNumber and thumbprint: upper-case hex, no separators.
 */
export function summarizeCertificate(leafPem: string, chainPem: string[]): IssuedCertificateSummary {
  const leaf = certificateFromPem(leafPem);
  if (leaf === undefined) {
    throw new BrokerError('CA_REJECTED', 'The issued certificate is not a readable PEM X.509 certificate.');
  }
  const chain = chainPem.map((pem, index) => {
    const certificate = certificateFromPem(pem);
    if (certificate === undefined) {
      throw new BrokerError(
        'CA_REJECTED',
        `Chain certificate #${index + 1} of the issued certificate is not a readable PEM X.509 certificate.`,
      );
    }
    return certificate;
  });
  return summarizeIssued(issuedCertificates(leaf, chain));
}

/** summarizeCertificate for certificates parsed already (parseIssuedToken's answer): the same block. */
export function summarizeIssued(issued: IssuedCertificates): IssuedCertificateSummary {
  let details: CertificateDetails;
  try {
    details = readCertificateDetails(issued.leaf.raw);
  } catch (error) {
    throw new BrokerError(
      'CA_REJECTED',
      `The issued certificate could not be read: ${(error as Error).message}.`,
      {
        cause: error,
      },
    );
  }
  return {
    serialNumber: details.serialNumber,
    thumbprint: sha1Thumbprint(issued.leaf.raw),
    subject: details.subject,
    issuer: details.issuer,
    notBefore: details.notBefore.toISOString(),
    notAfter: details.notAfter.toISOString(),
    pem: issued.leafPem,
    chainPem: [...issued.chainPem],
  };
}
