/**
 * certificateManagementService: searchCertificateRequest (one page of certificates by seat, profile and
 * status) and updateCertificateStatusRequest (Revoke by serial number), and their answers. Paging and the
 * "already revoked counts as done" rule live in client.ts; this module only builds and reads one exchange.
 */
import { X509Certificate } from 'node:crypto';
import { BrokerError } from '../contract/errors';
import type { CaCertificateRecord, CertificateSearch, RevocationReason } from './types';
import { unexpectedAnswerError } from './faults/answerContent';
import { transactionIdError, unsendableValueError } from './faults/beforeCall';
import { CallContext } from './faults/callContext';
import { PKI_WS_NAMESPACES, soapEnvelope } from './soap';
import {
  XmlCharacterError,
  XmlElement,
  childElement,
  childElements,
  childText,
  el,
  findDescendant,
  parseBoolean,
  serializeXml,
} from './xml';

export const MANAGEMENT_REQUEST_VERSION = '1.0';
/** CommentType in CertificateManagementService.xsd. */
export const MAX_REVOCATION_COMMENT_LENGTH = 512;
const MAX_TRANSACTION_ID_LENGTH = 40;

export const REVOCATION_REASONS: readonly RevocationReason[] = [
  'Unspecified',
  'KeyCompromise',
  'CACompromise',
  'AffiliationChanged',
  'Superseded',
  'CessationOfOperation',
  'PrivilegeWithdrawn',
  'AACompromise',
];

const CERTIFICATE_STATUSES = ['VALID', 'EXPIRED', 'REVOKED', 'SUSPENDED'] as const;

/**
 * A serial number as the CA compares it: hex without separators, upper case, no leading zeros (DigiCert does
 * not find serials written with leading zeros). Undefined when the text is not hexadecimal.
 */
export function normalizeSerialNumber(serial: string): string | undefined {
  const compact = serial.replace(/[\s:]/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(compact)) return undefined;
  return compact.replace(/^0+(?=.)/, '');
}

function checkTransactionId(context: CallContext, clientTransactionId: string): void {
  if (clientTransactionId.length > MAX_TRANSACTION_ID_LENGTH) {
    throw transactionIdError(context, clientTransactionId.length);
  }
}

function checkSendable(context: CallContext, field: string, value: string): void {
  try {
    serializeXml(el('check', value));
  } catch (cause) {
    if (cause instanceof XmlCharacterError) throw unsendableValueError(context, field, cause.message);
    throw cause;
  }
}

// ---------------------------------------------------------------------------------------------------------
// searchCertificate

/**
 * One page of a search. `startIndex` is left out for the first page (the CA's own beginning, whether it counts
 * from 0 or 1): see {@link SearchPaging}.
 */
export function buildSearchCertificateEnvelope(
  search: CertificateSearch,
  startIndex: number | undefined,
  clientTransactionId: string,
  context: CallContext,
): string {
  checkTransactionId(context, clientTransactionId);
  if (search.seatId !== undefined) checkSendable(context, 'seatId', search.seatId);
  if (search.profileOid !== undefined) checkSendable(context, 'profileOID', search.profileOid);
  const serialNumber =
    search.serialNumber === undefined ? undefined : normalizeSerialNumber(search.serialNumber);
  if (search.serialNumber !== undefined && serialNumber === undefined) {
    throw new BrokerError(
      'INVALID_REQUEST',
      `DigiCert searchCertificate at ${context.caHost}: serialNumber "${search.serialNumber}" is not hexadecimal`,
    );
  }
  if (search.status !== undefined && !(CERTIFICATE_STATUSES as readonly string[]).includes(search.status)) {
    throw new BrokerError(
      'INVALID_REQUEST',
      `DigiCert searchCertificate at ${context.caHost}: status "${String(search.status)}" is not one of ${CERTIFICATE_STATUSES.join(', ')}`,
    );
  }
  // The XSD's sequence order: clientTransactionID, seatId, accountId, profileOID, commonName, status, …,
  // startIndex, version.
  return soapEnvelope(
    el(
      'mgmt:searchCertificateRequest',
      [
        el('mgmt:clientTransactionID', clientTransactionId),
        search.seatId !== undefined && el('mgmt:seatId', search.seatId),
        search.profileOid !== undefined && el('mgmt:profileOID', search.profileOid),
        search.status !== undefined && el('mgmt:status', search.status),
        serialNumber !== undefined && el('mgmt:serialNumber', serialNumber),
        startIndex !== undefined && el('mgmt:startIndex', String(startIndex)),
        el('mgmt:version', MANAGEMENT_REQUEST_VERSION),
      ],
      { 'xmlns:mgmt': PKI_WS_NAMESPACES.management },
    ),
  );
}

export interface SearchCertificatePage {
  records: CaCertificateRecord[];
  /** moreCertificateAvailable: a later page holds more; undefined when the CA left it out (minOccurs 0). */
  more: boolean | undefined;
  /** certificateCount: this page's count or the number of all matches (no document says which). */
  certificateCount: number | undefined;
}

function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/-----(?:BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) {
    return undefined;
  }
  return Buffer.from(compact, 'base64');
}

// 10^11 seconds is the year 5138: a larger number is milliseconds.
const LARGEST_PLAUSIBLE_EPOCH_SECONDS = 1e11;

/** validFrom/validTo: epoch seconds (KFG's reading of the live service); milliseconds and ISO 8601 tolerated. */
export function parseCaTimestamp(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  if (/^-?\d+$/.test(text)) {
    const value = Number(text);
    const ms = Math.abs(value) >= LARGEST_PLAUSIBLE_EPOCH_SECONDS ? value : value * 1000;
    const date = new Date(ms);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : new Date(parsed);
}

function serialOfCertificate(der: Buffer | undefined): string | undefined {
  if (der === undefined) return undefined;
  try {
    return normalizeSerialNumber(new X509Certificate(der).serialNumber);
  } catch {
    return undefined;
  }
}

function readCertificateInformation(
  information: XmlElement,
  position: number,
  context: CallContext,
): CaCertificateRecord {
  const certificateText = childText(information, 'certificate');
  const certificateDer = certificateText === undefined ? undefined : decodeBase64(certificateText);
  if (certificateText !== undefined && certificateDer === undefined) {
    throw unexpectedAnswerError(
      context,
      `certificateInformation ${position} has a certificate that is not base64`,
    );
  }
  const serialText = childText(information, 'serialNumber');
  const serialNumber =
    (serialText === undefined ? undefined : normalizeSerialNumber(serialText)) ??
    serialOfCertificate(certificateDer);
  if (serialNumber === undefined) {
    throw unexpectedAnswerError(
      context,
      serialText === undefined
        ? `certificateInformation ${position} has neither a serialNumber nor a readable certificate`
        : `certificateInformation ${position} has serialNumber "${serialText}", which is not hexadecimal`,
    );
  }
  const record: CaCertificateRecord = {
    serialNumber,
    status: (childText(information, 'status') ?? 'UNKNOWN').toUpperCase(),
  };
  if (certificateDer !== undefined) record.certificateDer = certificateDer;
  const seatId = childText(information, 'seatId');
  if (seatId !== undefined) record.seatId = seatId;
  const profileOid = childText(information, 'profileOID');
  if (profileOid !== undefined) record.profileOid = profileOid;
  const validFrom = parseCaTimestamp(childText(information, 'validFrom'));
  if (validFrom !== undefined) record.validFrom = validFrom;
  const validTo = parseCaTimestamp(childText(information, 'validTo'));
  if (validTo !== undefined) record.validTo = validTo;
  return record;
}

/** Reads searchCertificateResponse (`body` is the SOAP Body): the page's certificates and whether more follow. */
export function parseSearchCertificateResponse(
  body: XmlElement,
  context: CallContext,
): SearchCertificatePage {
  const response =
    childElement(body, 'searchCertificateResponse') ?? findDescendant(body, 'searchCertificateResponse');
  if (response === undefined) {
    throw unexpectedAnswerError(
      context,
      `expected searchCertificateResponse, got ${body.children[0]?.name ?? 'an empty Body'}`,
    );
  }
  const list = childElement(response, 'certificateList');
  const records = childElements(list, 'certificateInformation').map((information, index) =>
    readCertificateInformation(information, index + 1, context),
  );
  const moreText = childText(response, 'moreCertificateAvailable');
  const countText = childText(response, 'certificateCount');
  return {
    records,
    more: moreText === undefined ? undefined : parseBoolean(moreText),
    certificateCount:
      countText !== undefined && /^\s*\d+\s*$/.test(countText) ? Number(countText) : undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------
// updateCertificateStatus (Revoke)

export interface Revocation {
  serialNumber: string;
  reason: RevocationReason;
  comment?: string;
}

/**
 * The Revoke request by serial number. Throws BrokerError INVALID_REQUEST naming the field when the serial is
 * not hexadecimal, the reason is not one the XSD lists, or the comment is longer than 512 characters.
 */
export function buildRevokeEnvelope(
  revocation: Revocation,
  clientTransactionId: string,
  context: CallContext,
): string {
  checkTransactionId(context, clientTransactionId);
  const serial = normalizeSerialNumber(revocation.serialNumber);
  const refuse = (problem: string, remedy: string): BrokerError =>
    new BrokerError('INVALID_REQUEST', `DigiCert updateCertificateStatus at ${context.caHost}: ${problem}`, {
      remedy,
    });
  if (serial === undefined) {
    throw refuse(
      `certificateSerialNumber "${revocation.serialNumber}" is not hexadecimal`,
      'Pass the serial number of the certificate to revoke as hexadecimal (as searchCertificate returns it).',
    );
  }
  if (!REVOCATION_REASONS.includes(revocation.reason)) {
    throw refuse(
      `revocationReason "${String(revocation.reason)}" is not one of ${REVOCATION_REASONS.join(', ')}`,
      'Use one of the revocation reasons certificateManagementService accepts.',
    );
  }
  if (revocation.comment !== undefined) {
    if (revocation.comment.length > MAX_REVOCATION_COMMENT_LENGTH) {
      throw refuse(
        `comment is ${revocation.comment.length} characters long; PKI-WS accepts at most ${MAX_REVOCATION_COMMENT_LENGTH}`,
        `Shorten the revocation comment to ${MAX_REVOCATION_COMMENT_LENGTH} characters.`,
      );
    }
    checkSendable(context, 'comment', revocation.comment);
  }
  // The XSD's sequence order: clientTransactionID, version, certificateIssuer, revocationReason, challenge,
  // comment, certificateSerialNumber | seatId, operationType.
  return soapEnvelope(
    el(
      'mgmt:updateCertificateStatusRequest',
      [
        el('mgmt:clientTransactionID', clientTransactionId),
        el('mgmt:version', MANAGEMENT_REQUEST_VERSION),
        el('mgmt:revocationReason', revocation.reason),
        revocation.comment !== undefined && el('mgmt:comment', revocation.comment),
        el('mgmt:certificateSerialNumber', serial),
        el('mgmt:operationType', 'Revoke'),
      ],
      { 'xmlns:mgmt': PKI_WS_NAMESPACES.management },
    ),
  );
}

export interface StatusUpdateResult {
  successCode: number;
  successMessage: string;
  revocationCount?: number;
}

/**
 * Reads updateCertificateStatusResponse. A negative successCode is a refusal (the only rule a public client
 * applies: LAB treats successCode < 0 as failure) and becomes BrokerError CA_REJECTED with the CA's words.
 */
export function parseUpdateCertificateStatusResponse(
  body: XmlElement,
  context: CallContext,
  serialNumber: string,
): StatusUpdateResult {
  const response =
    childElement(body, 'updateCertificateStatusResponse') ??
    findDescendant(body, 'updateCertificateStatusResponse');
  if (response === undefined) {
    throw unexpectedAnswerError(
      context,
      `expected updateCertificateStatusResponse, got ${body.children[0]?.name ?? 'an empty Body'}`,
    );
  }
  const codeText = childText(response, 'successCode');
  if (codeText === undefined || !/^[+-]?\d+$/.test(codeText)) {
    throw unexpectedAnswerError(
      context,
      `updateCertificateStatusResponse has ${codeText === undefined ? 'no successCode' : `successCode "${codeText}", not a number`}`,
    );
  }
  const successCode = Number(codeText);
  const successMessage = childText(response, 'successMsg') ?? '';
  if (successCode < 0) {
    const caMessage =
      successMessage === '' ? `successCode ${successCode}` : `${successMessage} (successCode ${successCode})`;
    throw new BrokerError(
      'CA_REJECTED',
      `DigiCert updateCertificateStatus at ${context.caHost} failed: the CA did not revoke certificate ${serialNumber}: "${caMessage}"`,
      { caMessage },
    );
  }
  const result: StatusUpdateResult = { successCode, successMessage };
  const countText = childText(response, 'revocationCount');
  if (countText !== undefined && /^\d+$/.test(countText)) result.revocationCount = Number(countText);
  return result;
}
