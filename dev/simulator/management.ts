/**
 * certificateManagementService (CertificateManagementService.xsd): `updateCertificateStatusRequest`
 * (Revoke / Suspend / Resume by serial number or seat id) and `searchCertificateRequest`, over the
 * certificates this simulator issued.
 */
import type { NameValuePair } from '../../shared/digicert/types';
import { clientFault, ERROR_CODES, notUnderstoodFault, unsupportedOperationFault } from './soapFault';
import { childText, el, leaf, nil, type ParsedElement, type XmlElement } from './xml';

export const MANAGEMENT_NS = 'http://schemas.verisign.com/pkiservices/2009/07/management';

export type CertificateStatus = 'VALID' | 'REVOKED' | 'SUSPENDED';

export const CERTIFICATE_STATUSES = ['VALID', 'EXPIRED', 'REVOKED', 'SUSPENDED'] as const;

/** The account every simulated certificate belongs to (searchCertificate's accountId). */
export const SIMULATOR_ACCOUNT_ID = 'dev-account';

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
  /** base64 DER of the PKCS#10 request the certificate was issued for, for tests. */
  csrDerBase64: string;
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
  if (comment !== undefined && comment.length > 512) {
    throw notUnderstoodFault('comment is longer than 512 characters.', ERROR_CODES.malformedRequest);
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

/** Certificates per searchCertificate answer (KFG and KFP page 50 at a time). */
export const DEFAULT_SEARCH_PAGE_SIZE = 50;

function currentStatus(certificate: IssuedCertificate, now: number): string {
  if (certificate.status === 'VALID' && certificate.notAfter.getTime() < now) return 'EXPIRED';
  return certificate.status;
}

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function optionalLong(body: ParsedElement, name: string): void {
  const text = childText(body, name);
  if (text !== undefined && !/^-?\d{1,19}$/.test(text)) {
    throw notUnderstoodFault(`${name} "${text}" is not a whole number.`, ERROR_CODES.malformedRequest);
  }
}

/**
 * How this simulated CA reads the searchCertificate fields no document defines (pki-ws-protocol.md,
 * "searchCertificate paging"), so that the broker is tested under every reading.
 */
export interface SearchReading {
  /** Certificates per answer (default 50, as KFG and KFP page). */
  pageSize: number;
  /**
   * Where `startIndex` counts from: 1 (default; a missing startIndex is 1, and 0 is refused) or 0 (a missing
   * startIndex is 0; Keyfactor's SOAP inventory begins at 0).
   */
  startIndexBase: 0 | 1;
  /** `certificateCount`: this page's count (default) or the number of all matches (KFG's reading). */
  certificateCount: 'page' | 'total';
  /** Whether `moreCertificateAvailable` (minOccurs 0) is sent at all (default true). */
  moreFlag: boolean;
}

export const DEFAULT_SEARCH_READING: Readonly<SearchReading> = {
  pageSize: DEFAULT_SEARCH_PAGE_SIZE,
  startIndexBase: 1,
  certificateCount: 'page',
  moreFlag: true,
};

/**
 * searchCertificateRequest: every filter given must match (seatId and emailAddress case-insensitively, the
 * serial number as hex), answered a page at a time in issuing order, paged as `reading` says.
 * issuingCA, validFrom and validTo are checked for form but do not filter (one issuing CA; no public client
 * says what the two dates select).
 */
export function searchCertificate(
  body: ParsedElement,
  issued: IssuedCertificate[],
  serverTransactionId: string,
  reading: SearchReading = DEFAULT_SEARCH_READING,
): XmlElement {
  const now = Date.now();
  const filter = {
    seatId: childText(body, 'seatId')?.toLowerCase(),
    accountId: childText(body, 'accountId'),
    profileOid: childText(body, 'profileOID'),
    commonName: childText(body, 'commonName')?.toLowerCase(),
    status: childText(body, 'status'),
    emailAddress: childText(body, 'emailAddress')?.toLowerCase(),
    serialNumber: childText(body, 'serialNumber'),
  };
  if (filter.status !== undefined && !(CERTIFICATE_STATUSES as readonly string[]).includes(filter.status)) {
    throw notUnderstoodFault(
      `status "${filter.status}" is not one of ${CERTIFICATE_STATUSES.join(', ')}.`,
      ERROR_CODES.malformedRequest,
    );
  }
  optionalLong(body, 'validFrom');
  optionalLong(body, 'validTo');
  const startText = childText(body, 'startIndex');
  const startIndex = startText === undefined ? reading.startIndexBase : Number(startText);
  if (!Number.isInteger(startIndex) || startIndex < 0) {
    throw notUnderstoodFault(
      `startIndex "${startText}" is not a whole number.`,
      ERROR_CODES.malformedRequest,
    );
  }
  if (startIndex < reading.startIndexBase) {
    throw notUnderstoodFault(
      `startIndex ${startIndex} is out of range: the first certificate is ${reading.startIndexBase}.`,
      ERROR_CODES.malformedRequest,
    );
  }
  const found = issued.filter(
    (certificate) =>
      (filter.seatId === undefined || certificate.seatId?.toLowerCase() === filter.seatId) &&
      (filter.accountId === undefined || filter.accountId === SIMULATOR_ACCOUNT_ID) &&
      (filter.profileOid === undefined || certificate.profileOid === filter.profileOid) &&
      (filter.commonName === undefined || certificate.commonName.toLowerCase() === filter.commonName) &&
      (filter.status === undefined || currentStatus(certificate, now) === filter.status) &&
      (filter.emailAddress === undefined ||
        certificate.emailAddress?.toLowerCase() === filter.emailAddress) &&
      (filter.serialNumber === undefined ||
        certificate.serialNumber === normalizeSerial(filter.serialNumber)),
  );
  const { pageSize } = reading;
  const offset = startIndex - reading.startIndexBase;
  const page = found.slice(offset, offset + pageSize);
  const clientTransactionId = childText(body, 'clientTransactionID');
  return el(
    'searchCertificateResponse',
    { xmlns: MANAGEMENT_NS },
    clientTransactionId !== undefined && leaf('clientTransactionID', clientTransactionId),
    leaf('serverTransactionID', serverTransactionId),
    leaf('certificateCount', reading.certificateCount === 'total' ? found.length : page.length),
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
            leaf('accountId', SIMULATOR_ACCOUNT_ID),
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
    reading.moreFlag && leaf('moreCertificateAvailable', offset + pageSize < found.length),
    leaf('version', childText(body, 'version') ?? '1.0'),
  );
}

/** Which management operation a Body element asks for. */
export function managementOperation(body: ParsedElement): 'update' | 'search' {
  const name = body.name.toLowerCase();
  if (name === 'updatecertificatestatusrequest') return 'update';
  if (name === 'searchcertificaterequest') return 'search';
  throw unsupportedOperationFault('certificate management', body.name);
}

/** One seat's certificates, for checks such as "at most one valid certificate per request". */
export interface SeatAudit {
  /** '' for certificates issued without a seat id. */
  seatId: string;
  profileOids: string[];
  total: number;
  valid: number;
  revoked: number;
  suspended: number;
  /** Serial numbers of the VALID certificates, in issuing order. */
  validSerials: string[];
  /** Revoked certificates by revocation reason. */
  revocationReasons: Record<string, number>;
}

export interface AccountAudit {
  certificates: number;
  valid: number;
  revoked: number;
  suspended: number;
  /** Every seat, sorted by seat id. */
  seats: SeatAudit[];
  /** Seats holding more than one VALID certificate (what "never issue twice" forbids). */
  seatsWithSeveralValid: string[];
  /** All revoked certificates by revocation reason. */
  revocationReasons: Record<string, number>;
}

/** Groups the issued certificates by seat id (case-insensitively) with counts by status. */
export function accountAudit(issued: readonly IssuedCertificate[]): AccountAudit {
  const seats = new Map<string, SeatAudit>();
  const reasons: Record<string, number> = {};
  for (const certificate of issued) {
    const seatId = certificate.seatId ?? '';
    const key = seatId.toLowerCase();
    let seat = seats.get(key);
    if (seat === undefined) {
      seat = {
        seatId,
        profileOids: [],
        total: 0,
        valid: 0,
        revoked: 0,
        suspended: 0,
        validSerials: [],
        revocationReasons: {},
      };
      seats.set(key, seat);
    }
    seat.total += 1;
    if (!seat.profileOids.includes(certificate.profileOid)) seat.profileOids.push(certificate.profileOid);
    if (certificate.status === 'VALID') {
      seat.valid += 1;
      seat.validSerials.push(certificate.serialNumber);
    } else if (certificate.status === 'SUSPENDED') {
      seat.suspended += 1;
    } else {
      seat.revoked += 1;
      const reason = certificate.revocationReason ?? 'Unspecified';
      seat.revocationReasons[reason] = (seat.revocationReasons[reason] ?? 0) + 1;
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
  }
  const list = [...seats.values()].sort((a, b) => (a.seatId < b.seatId ? -1 : a.seatId > b.seatId ? 1 : 0));
  return {
    certificates: issued.length,
    valid: list.reduce((sum, seat) => sum + seat.valid, 0),
    revoked: list.reduce((sum, seat) => sum + seat.revoked, 0),
    suspended: list.reduce((sum, seat) => sum + seat.suspended, 0),
    seats: list,
    seatsWithSeveralValid: list.filter((seat) => seat.valid > 1).map((seat) => seat.seatId),
    revocationReasons: reasons,
  };
}
