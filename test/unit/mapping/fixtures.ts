/** Our own ProfilePolicy and request fixtures for the mapping tests (no team-folder files are read). */
import type { BrokerError, ErrorCode } from '../../../shared/contract/errors';
import type { PkcsRequest, SubjectAlternativeName } from '../../../shared/contract/types';
import type { PolicyAttribute, ProfilePolicy } from '../../../shared/digicert/types';
import { brokerErrorOf } from '../../support/brokerErrors';

export const GUID_OID = '1.3.6.1.4.1.311.25.1';
/** The seed's example otherName (an OCTET STRING of 18 bytes) and its base64. */
export const SEED_OTHERNAME_HEX = '04 12 b8 ba 65 41 f2 d4 07 41 a9 f7 47 08 f3 e4 28 5c ef 2c';
export const SEED_OTHERNAME_BASE64 = 'BBK4umVB8tQHQan3Rwjz5Chc7yw=';

export function attribute(
  attributeName: string,
  value: string,
  mandatory: boolean,
  type?: string,
): PolicyAttribute {
  return type === undefined ? { attributeName, value, mandatory } : { attributeName, value, mandatory, type };
}

export function policyWith(parts: Partial<ProfilePolicy>): ProfilePolicy {
  return {
    profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    nextUpdateHours: 8,
    subjectAttributes: [],
    sanAttributes: [],
    cas: [],
    ...parts,
  };
}

/**
 * Modelled on an Intune user profile as our sample policy describes it: CN and optional E variables, a fixed
 * O, SAN e-mail and UPN mandatory, an optional objectGUID otherName, seat = $mail_email, 2048-bit keys.
 */
export function intuneUserPolicy(): ProfilePolicy {
  return policyWith({
    friendlyName: 'Contoso Intune User',
    subjectAttributes: [
      attribute('cn', '$common_name', true, 'VT_PRINTABLE_STRING'),
      attribute('e', '$mail_email', false, 'VT_IA5_STRING'),
      attribute('o', 'Contoso Ltd', true, 'VT_PRINTABLE_STRING'),
    ],
    sanAttributes: [
      attribute('rfc822Name', '$mail_email', true, 'VT_IA5_STRING'),
      attribute('otherNameUPN', '$otherNameUPN', true, 'VT_UTF8_STRING'),
      attribute('otherName', '$otherNameGUID', false, GUID_OID),
    ],
    seatId: { value: '$mail_email', mandatory: true },
    keySize: 2048,
    validityDays: 365,
  });
}

export const SID_TYPE = '1.3.6.1.4.1.311.25.2.1';

/** The user profile with the SID field of strong certificate mapping, as our SID sample policy has it. */
export function sidUserPolicy(sidField: Partial<PolicyAttribute> = {}): ProfilePolicy {
  return {
    ...intuneUserPolicy(),
    profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.47196110',
    friendlyName: 'Contoso Intune User with SID',
    sidAttribute: { ...attribute('objectSid', '$objectSid', true, SID_TYPE), ...sidField },
  };
}

/** A new DigiCert profile's default: the CN field surfaces as mail_firstName + mail_lastName. */
export function firstLastNamePolicy(mandatory = true): ProfilePolicy {
  return policyWith({
    subjectAttributes: [
      attribute('mail_firstName', '$mail_firstName', mandatory),
      attribute('mail_lastName', '$mail_lastName', mandatory),
    ],
    sanAttributes: [attribute('rfc822Name', '$mail_email', true)],
    seatId: { value: '$mail_email', mandatory: true },
  });
}

export function requestWith(
  subjectName: string,
  subjectAlternativeNames?: SubjectAlternativeName[],
  extra: Partial<PkcsRequest> = {},
): PkcsRequest {
  const request: PkcsRequest = {
    schemaVersion: 1,
    requestId: 'req-1',
    certificateAuthority: 'pki-ws.symauth.com',
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    subjectName,
    recipientCertificate: '-----BEGIN CERTIFICATE-----\nunused by mapping\n-----END CERTIFICATE-----',
    ...extra,
  };
  if (subjectAlternativeNames !== undefined) request.subjectAlternativeNames = subjectAlternativeNames;
  return request;
}

export const email = (value: string): SubjectAlternativeName => ({ type: 'AltNameTypeEmail', value });
export const upn = (value: string): SubjectAlternativeName => ({ type: 'AltNameTypeUpn', value });
export const otherName = (value: string, oid?: string): SubjectAlternativeName =>
  oid === undefined ? { type: 'AltNameTypeOtherName', value } : { type: 'AltNameTypeOtherName', value, oid };

export interface ExpectedError {
  code: ErrorCode;
  /** Fragments the message must contain (field names, variables, what is wrong). */
  message: (string | RegExp)[];
  /** Fragments the remedy must contain. */
  remedy?: (string | RegExp)[];
}

export function expectBrokerError(action: () => unknown, expected: ExpectedError): BrokerError {
  const error = brokerErrorOf(action);
  expect(error.code).toBe(expected.code);
  for (const fragment of expected.message) {
    if (typeof fragment === 'string') expect(error.message).toContain(fragment);
    else expect(error.message).toMatch(fragment);
  }
  for (const fragment of expected.remedy ?? []) {
    if (typeof fragment === 'string') expect(error.remedy).toContain(fragment);
    else expect(error.remedy).toMatch(fragment);
  }
  return error;
}
