import { BrokerError } from '../contract/errors';
import type { SubjectAlternativeName } from '../contract/types';
import { parseOtherNameHex, type OtherNameValue } from './otherName';
import type { ParsedSubjectName } from './subject';
import { isDottedOid, looksLikeMailAddress } from './text';

/** Where a resolved e-mail address or UPN came from. */
export type AddressOrigin = 'AltNameTypeEmail' | 'AltNameTypeUpn' | 'subjectName';

export interface ResolvedAddress {
  value: string;
  origin: AddressOrigin;
  /** The request field it was read from: `subjectAlternativeNames[1].value` or `subjectName`. */
  field: string;
}

export interface RequestOtherName {
  /** Index in subjectAlternativeNames. */
  index: number;
  /** `subjectAlternativeNames[<index>].value`, for messages. */
  field: string;
  oid?: string;
  value: OtherNameValue;
}

export interface ResolvedSanValues {
  /** AltNameTypeEmail, else AltNameTypeUpn, else the subject e-mail (the seed's fallback for e-mail). */
  email?: ResolvedAddress;
  /** AltNameTypeUpn, else AltNameTypeEmail, else the subject e-mail (the seed's fallback for UPN). */
  upn?: ResolvedAddress;
  /** E= of the subject, or its CN when that is an e-mail address. */
  subjectEmail?: ResolvedAddress;
  otherNames: RequestOtherName[];
}

export const EMAIL_FALLBACKS =
  'AltNameTypeEmail, then AltNameTypeUpn, then the subject e-mail (E= or a CN that is an e-mail address)';
export const UPN_FALLBACKS =
  'AltNameTypeUpn, then AltNameTypeEmail, then the subject e-mail (E= or a CN that is an e-mail address)';
export const SUBJECT_EMAIL_FALLBACKS = 'the subject e-mail (E= or a CN that is an e-mail address)';

function invalidRequest(field: string, problem: string, remedy?: string): BrokerError {
  return new BrokerError('INVALID_REQUEST', `${field} ${problem}.`, remedy === undefined ? {} : { remedy });
}

/**
 * Reads the request's SAN entries and applies the seed's fallbacks. The first entry of each type counts.
 * An empty e-mail or UPN value counts as absent (Intune leaves a variable empty when the user has no such
 * attribute), so the fallback applies; a non-empty one must look like local@domain. Every otherName entry is
 * decoded and checked to be well-formed DER.
 */
export function resolveSanValues(
  subjectAlternativeNames: readonly SubjectAlternativeName[] | undefined,
  subject: ParsedSubjectName,
): ResolvedSanValues {
  let firstEmail: ResolvedAddress | undefined;
  let firstUpn: ResolvedAddress | undefined;
  const otherNames: RequestOtherName[] = [];

  (subjectAlternativeNames ?? []).forEach((entry, index) => {
    const base = `subjectAlternativeNames[${index}]`;
    const field = `${base}.value`;
    if (typeof entry.value !== 'string') throw invalidRequest(field, 'must be a string');
    switch (entry.type) {
      case 'AltNameTypeEmail':
      case 'AltNameTypeUpn': {
        const value = entry.value.trim();
        if (value === '') return;
        if (!looksLikeMailAddress(value)) {
          const what = entry.type === 'AltNameTypeEmail' ? 'an e-mail address' : 'a UPN';
          throw invalidRequest(
            field,
            `(${entry.type}) is not ${what}: expected the form local@domain`,
            `Put ${what} of the form local@domain in ${field}, or leave the entry out.`,
          );
        }
        const resolved: ResolvedAddress = { value, origin: entry.type, field };
        if (entry.type === 'AltNameTypeEmail') firstEmail ??= resolved;
        else firstUpn ??= resolved;
        return;
      }
      case 'AltNameTypeOtherName': {
        if (entry.oid !== undefined && (typeof entry.oid !== 'string' || !isDottedOid(entry.oid))) {
          throw invalidRequest(
            `${base}.oid`,
            'is not a dotted-decimal OID',
            `Set ${base}.oid to the otherName type-id, e.g. "1.3.6.1.4.1.311.25.1", or leave it out where the DigiCert profile has one otherName field.`,
          );
        }
        const otherName: RequestOtherName = { index, field, value: parseOtherNameHex(entry.value, field) };
        if (entry.oid !== undefined) otherName.oid = entry.oid;
        otherNames.push(otherName);
        return;
      }
      default:
        throw invalidRequest(
          `${base}.type`,
          `is "${String((entry as { type: unknown }).type)}"; only AltNameTypeEmail, AltNameTypeUpn and AltNameTypeOtherName are supported`,
        );
    }
  });

  const subjectEmail: ResolvedAddress | undefined =
    subject.email === undefined
      ? undefined
      : { value: subject.email, origin: 'subjectName', field: 'subjectName' };

  const result: ResolvedSanValues = { otherNames };
  const email = firstEmail ?? firstUpn ?? subjectEmail;
  const upn = firstUpn ?? firstEmail ?? subjectEmail;
  if (email !== undefined) result.email = email;
  if (upn !== undefined) result.upn = upn;
  if (subjectEmail !== undefined) result.subjectEmail = subjectEmail;
  return result;
}
