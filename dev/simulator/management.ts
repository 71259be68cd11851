/**
 * certificateManagementService (CertificateManagementService.xsd): `updateCertificateStatusRequest`
 * (Revoke / Suspend / Resume by serial number or seat id) and `searchCertificateRequest`, over the
 * certificates this simulator issued.
 */
import type { NameValuePair } from '../../shared/digicert/types';
import { clientFault, ERROR_CODES, FAULT_STRINGS, notUnderstoodFault } from './soapFault';
import { childText, el, leaf, nil, type ParsedElement, type XmlElement } from './xml';

export const MANAGEMENT_NS = 'http://schemas.verisign.com/pkiservices/2009/07/management';

export type CertificateStatus = 'VALID' | 'REVOKED' | 'SUSPENDED';

export const REVOCATION_REASONS = [
  'Unspecified',
  'KeyCompromise',
  'CACompromise',
  'AffiliationChanged',
  'CessationOfOperation',
  'PrivilegeWithdrawn',
  'AACompromise',
  'Superseded',
] as const;

/** What the simulator remembers of each certificate it issued. */
export interface IssuedCertificate {
  /** Upper-case hex, no leading zeros. */
  serialNumber: string;
  profileOid: string;
  seatId?: string;
  commonName: string;
  emailAddress?: string;
  /** RFC 2253-ish text of the subject, e.g. `CN=User One, O=Contoso Ltd`. */
  subject: string;
  status: CertificateStatus;
  revocationReason?: string;
  revocationComment?: string;
  statusChangedAt?: Date;
  notBefore: Date;
  notAfter: Date;
  certificatePem: string;
  certificateDerBase64: string;
  /** The pairs of the enrollment request, for tests (no secrets travel in them). */
  nameValuePairs: NameValuePair[];
  clientTransactionId?: string;
  serverTransactionId: string;
  issuedAt: Date;
}

/** Serial numbers compare as hex without separators, case or leading zeros. */
export function normalizeSerial(serial: string): string {
  return serial
    .replace(/[\s:]/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

export function updateCertificateStatus(
  body: ParsedElement,
  issued: IssuedCertificate[],
  serverTransactionId: string,
): XmlElement {
  const version = childText(body, 'version') ?? '1.0';
  const operation = childText(body, 'operationType') ?? '';
  const reason = childText(body, 'revocationReason');
  const comment = childText(body, 'comment');
  const serial = childText(body, 'certificateSerialNumber');
  const seatId = childText(body, 'seatId');
  if (operation !== 'Revoke' && operation !== 'Suspend' && operation !== 'Resume') {
    throw notUnderstoodFault(
      `operationType "${operation}" is not Revoke, Suspend or Resume.`,
      ERROR_CODES.malformedRequest,
    );
  }
  if (reason !== undefined && !(REVOCATION_REASONS as readonly string[]).includes(reason)) {
    throw notUnderstoodFault(`revocationReason "${reason}" is not supported.`, ERROR_CODES.malformedRequest);
  }
  if ((serial === undefined) === (seatId === undefined)) {
    throw notUnderstoodFault('Send either certificateSerialNumber or seatId.', ERROR_CODES.malformedRequest);
  }
  const matches =
    serial !== undefined
      ? issued.filter((certificate) => certificate.serialNumber === normalizeSerial(serial))
      : issued.filter((certificate) => certificate.seatId?.toLowerCase() === seatId!.toLowerCase());
  const what = serial !== undefined ? `serial number ${serial}` : `seat id ${seatId}`;
  if (matches.length === 0) {
    throw clientFault(`No certificate with ${what} was found.`, ERROR_CODES.certificateNotFound);
  }
  const from: CertificateStatus[] =
    operation === 'Resume' ? ['SUSPENDED'] : operation === 'Suspend' ? ['VALID'] : ['VALID', 'SUSPENDED'];
  const to: CertificateStatus =
    operation === 'Resume' ? 'VALID' : operation === 'Suspend' ? 'SUSPENDED' : 'REVOKED';
  const changing = matches.filter((certificate) => from.includes(certificate.status));
  if (changing.length === 0) {
    throw clientFault(
      `The certificate with ${what} is ${matches[0]!.status.toLowerCase()}; ${operation} is not possible.`,
      ERROR_CODES.certificateStatusConflict,
    );
  }
  const now = new Date();
  for (const certificate of changing) {
    certificate.status = to;
    certificate.statusChangedAt = now;
    if (to === 'VALID') {
      certificate.revocationReason = undefined;
      certificate.revocationComment = undefined;
    } else {
      certificate.revocationReason = reason ?? 'Unspecified';
      certificate.revocationComment = comment;
    }
  }
  return el(
    'updateCertificateStatusResponse',
    { xmlns: MANAGEMENT_NS },
    childText(body, 'clientTransactionID') !== undefined &&
      leaf('clientTransactionID', childText(body, 'clientTransactionID')!),
    leaf('serverTransactionID', serverTransactionId),
    leaf('version', version),
    leaf('successCode', 0),
    leaf('successMsg', `${operation} succeeded for ${changing.length} certificate(s).`),
    leaf('revocationCount', changing.length),
  );
}

const PAGE_SIZE = 50;

function currentStatus(certificate: IssuedCertificate, now: number): string {
  if (certificate.status === 'VALID' && certificate.notAfter.getTime() < now) return 'EXPIRED';
  return certificate.status;
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/**
 * searchCertificateRequest. `startIndex` is taken as 1-based (0 is read as 1): public clients page with it
 * but none says where it starts.
 */
export function searchCertificate(
  body: ParsedElement,
  issued: IssuedCertificate[],
  serverTransactionId: string,
): XmlElement {
  const now = Date.now();
  const filter = {
    seatId: childText(body, 'seatId')?.toLowerCase(),
    profileOid: childText(body, 'profileOID'),
    commonName: childText(body, 'commonName')?.toLowerCase(),
    status: childText(body, 'status'),
    emailAddress: childText(body, 'emailAddress')?.toLowerCase(),
    serialNumber: childText(body, 'serialNumber'),
  };
  const startText = childText(body, 'startIndex');
  const startIndex = startText === undefined ? 1 : Number(startText);
  if (!Number.isInteger(startIndex) || startIndex < 0) {
    throw notUnderstoodFault(
      `startIndex "${startText}" is not a whole number.`,
      ERROR_CODES.malformedRequest,
    );
  }
  const found = issued.filter(
    (certificate) =>
      (filter.seatId === undefined || certificate.seatId?.toLowerCase() === filter.seatId) &&
      (filter.profileOid === undefined || certificate.profileOid === filter.profileOid) &&
      (filter.commonName === undefined || certificate.commonName.toLowerCase() === filter.commonName) &&
      (filter.status === undefined || currentStatus(certificate, now) === filter.status) &&
      (filter.emailAddress === undefined ||
        certificate.emailAddress?.toLowerCase() === filter.emailAddress) &&
      (filter.serialNumber === undefined ||
        certificate.serialNumber === normalizeSerial(filter.serialNumber)),
  );
  const offset = Math.max(startIndex - 1, 0);
  const page = found.slice(offset, offset + PAGE_SIZE);
  const clientTransactionId = childText(body, 'clientTransactionID');
  return el(
    'searchCertificateResponse',
    { xmlns: MANAGEMENT_NS },
    clientTransactionId !== undefined && leaf('clientTransactionID', clientTransactionId),
    leaf('serverTransactionID', serverTransactionId),
    leaf('certificateCount', page.length),
    page.length > 0 &&
      el(
        'certificateList',
        null,
        page.map((certificate) =>
          el(
            'certificateInformation',
            null,
            leaf('certificate', certificate.certificateDerBase64),
            leaf('seatId', certificate.seatId ?? ''),
            leaf('commonName', certificate.commonName),
            leaf('accountId', 'dev-account'),
            leaf('profileOID', certificate.profileOid),
            certificate.emailAddress !== undefined
              ? leaf('emailAddress', certificate.emailAddress)
              : nil('emailAddress'),
            leaf('status', currentStatus(certificate, now)),
            certificate.status !== 'VALID' &&
              certificate.statusChangedAt !== undefined &&
              leaf('revokeAt', epochSeconds(certificate.statusChangedAt)),
            certificate.status !== 'VALID' &&
              certificate.revocationReason !== undefined &&
              leaf('revokeReason', certificate.revocationReason),
            leaf('validFrom', epochSeconds(certificate.notBefore)),
            leaf('validTo', epochSeconds(certificate.notAfter)),
            leaf('serialNumber', certificate.serialNumber),
            leaf('isEscrowed', false),
            nil('enrollmentNotes'),
            certificate.revocationComment !== undefined
              ? leaf('revokeComments', certificate.revocationComment)
              : nil('revokeComments'),
          ),
        ),
      ),
    leaf('moreCertificateAvailable', offset + PAGE_SIZE < found.length),
    leaf('version', childText(body, 'version') ?? '1.0'),
  );
}

/** Which management operation a Body element asks for. */
export function managementOperation(body: ParsedElement): 'update' | 'search' {
  const name = body.name.toLowerCase();
  if (name === 'updatecertificatestatusrequest') return 'update';
  if (name === 'searchcertificaterequest') return 'search';
  throw clientFault(
    FAULT_STRINGS.notUnderstood,
    ERROR_CODES.unsupportedOperation,
    `The certificate management service does not support ${body.name}.`,
  );
}
