/**
 * The one place where a profile's attributeName is recognised. DigiCert profiles, admins and public clients
 * spell the same field many ways (`cn`, `commonName`, `2.5.4.3`; `rfc822Name`, `e-mail`; `otherNameUPN`,
 * `user_principal_name`), so names are normalised first: lower case, without `_`, `-` and spaces, and without
 * an `OID.` prefix before an OID.
 */
import { OID_UPN } from '../crypto/csr';
import type { PolicyAttribute } from '../digicert/types';
import { isDottedOid } from './text';

/** Short names of the subject attributes the CSR subject can carry. */
export type SubjectShortName = 'CN' | 'E' | 'O' | 'OU' | 'C' | 'L' | 'ST';

/**
 * What a SAN field holds: an e-mail address, a UPN (also an otherName field whose type is the UPN OID), an
 * otherName of another type, or a DNS name (which has no request source).
 */
export type SanAttributeKind = 'email' | 'upn' | 'otherName' | 'dns';

export function normaliseAttributeName(attributeName: string): string {
  return attributeName
    .toLowerCase()
    .replace(/[\s_-]/gu, '')
    .replace(/^oid\.(?=[0-2]\.)/u, '');
}

const SUBJECT_KINDS: Readonly<Record<string, SubjectShortName>> = {
  cn: 'CN',
  commonname: 'CN',
  '2.5.4.3': 'CN',
  e: 'E',
  email: 'E',
  emailaddress: 'E',
  mail: 'E',
  '1.2.840.113549.1.9.1': 'E',
  o: 'O',
  organization: 'O',
  organizationname: 'O',
  '2.5.4.10': 'O',
  ou: 'OU',
  organizationalunit: 'OU',
  organizationalunitname: 'OU',
  '2.5.4.11': 'OU',
  c: 'C',
  country: 'C',
  countryname: 'C',
  '2.5.4.6': 'C',
  l: 'L',
  locality: 'L',
  localityname: 'L',
  '2.5.4.7': 'L',
  st: 'ST',
  s: 'ST',
  state: 'ST',
  stateorprovince: 'ST',
  stateorprovincename: 'ST',
  '2.5.4.8': 'ST',
};

const SAN_KINDS: Readonly<Record<string, SanAttributeKind>> = {
  rfc822name: 'email',
  rfc822: 'email',
  email: 'email',
  mail: 'email',
  emailaddress: 'email',
  othernameupn: 'upn',
  upn: 'upn',
  userprincipalname: 'upn',
  msupn: 'upn',
  principalname: 'upn',
  othername: 'otherName',
  dnsname: 'dns',
  dns: 'dns',
};

/** The subject attribute a profile attributeName stands for; undefined when the broker does not know it. */
export function subjectAttributeKind(attributeName: string): SubjectShortName | undefined {
  return SUBJECT_KINDS[normaliseAttributeName(attributeName)];
}

/** True for a SAN `otherName` field, whatever its type. */
export function isOtherNameAttribute(attributeName: string): boolean {
  return SAN_KINDS[normaliseAttributeName(attributeName)] === 'otherName';
}

/** The otherName type-id of a SAN otherName field: its `type` when that is an OID. */
export function otherNameTypeOf(attribute: { attributeName: string; type?: string }): string | undefined {
  if (!isOtherNameAttribute(attribute.attributeName)) return undefined;
  const type = attribute.type?.trim();
  return type !== undefined && isDottedOid(type) ? type : undefined;
}

/**
 * What a SAN field of the profile holds. An `otherName` field whose type is the UPN OID (1.3.6.1.4.1.311.20.2.3)
 * is a UPN field: it takes the request's UPN, like `otherNameUPN`.
 */
export function sanAttributeKind(attribute: {
  attributeName: string;
  type?: string;
}): SanAttributeKind | undefined {
  const kind = SAN_KINDS[normaliseAttributeName(attribute.attributeName)];
  if (kind === 'otherName' && otherNameTypeOf(attribute) === OID_UPN) return 'upn';
  return kind;
}

/** One field of the certificate subject: its short name (if known) and the profile attributes that fill it. */
export interface SubjectField {
  shortName?: SubjectShortName;
  attributes: PolicyAttribute[];
}

/**
 * The profile's subject attributes as certificate subject fields, in profile order. Consecutive `cn`
 * attributes are one field whose values the CA joins with a space: a new DigiCert profile's default CN is
 * the two pairs `$mail_firstName`, `$mail_lastName`. Other attributes are a field each (a subject may hold
 * several OUs).
 */
export function subjectFieldsOf(attributes: readonly PolicyAttribute[]): SubjectField[] {
  const fields: SubjectField[] = [];
  for (const attribute of attributes) {
    const shortName = subjectAttributeKind(attribute.attributeName);
    const previous = fields[fields.length - 1];
    if (shortName === 'CN' && previous?.shortName === 'CN') {
      previous.attributes.push(attribute);
      continue;
    }
    fields.push(
      shortName === undefined ? { attributes: [attribute] } : { shortName, attributes: [attribute] },
    );
  }
  return fields;
}
