import { BrokerError } from '../contract/errors';
import { OID_SID_EXTENSION } from '../crypto/sidExtension';
import type { PolicyAttribute, ProfilePolicy } from '../digicert/types';
import {
  isOtherNameAttribute,
  otherNameTypeOf,
  sanAttributeKind,
  subjectAttributeKind,
  subjectFieldsOf,
} from './attributeKinds';
import { templateVariables, variableKey } from './template';
import { isDottedOid } from './text';

/**
 * Where the value of a profile `$variable` comes from. These are the source names administrators write as
 * values in PROFILE_FIELD_MAP (`{"<variable without $>": "<source>"}`), compared case-insensitively:
 *
 * - `commonName`      the CN of the request's subjectName.
 * - `email`           e-mail with the seed's fallbacks: AltNameTypeEmail → AltNameTypeUpn → subject e-mail.
 * - `upn`             UPN with the seed's fallbacks: AltNameTypeUpn → AltNameTypeEmail → subject e-mail.
 * - `subjectEmail`    only the subject e-mail: E= of subjectName, or its CN when that is an e-mail address.
 * - `firstName`       first name derived from the CN (see deriveMailNames), checked for DigiCert's characters.
 * - `lastName`        last name derived the same way.
 * - `otherName`       the request's otherName for the otherName field the variable sits on (or the request's
 *                     only otherName), sent as base64 of its DER.
 * - `otherName:<oid>` the request's otherName whose oid is `<oid>`, base64 of its DER.
 * - `const:<text>`    the literal `<text>`.
 * - `securityIdentifier` the request's securityIdentifier (the account's SID, strong certificate mapping).
 *
 * A variable called `seat_id` uses the seat source, `email` (a DigiCert seat is normally the user's e-mail).
 */
export type VariableSource =
  | { kind: 'commonName' }
  | { kind: 'email' }
  | { kind: 'upn' }
  | { kind: 'subjectEmail' }
  | { kind: 'firstName' }
  | { kind: 'lastName' }
  | { kind: 'otherName'; oid?: string }
  | { kind: 'const'; text: string }
  | { kind: 'securityIdentifier' };

export const SOURCE_NAMES = [
  'commonName',
  'email',
  'upn',
  'subjectEmail',
  'firstName',
  'lastName',
  'otherName',
  'otherName:<oid>',
  'const:<text>',
  'securityIdentifier',
] as const;

const SIMPLE_SOURCES: Record<string, VariableSource> = {
  commonname: { kind: 'commonName' },
  email: { kind: 'email' },
  upn: { kind: 'upn' },
  subjectemail: { kind: 'subjectEmail' },
  firstname: { kind: 'firstName' },
  lastname: { kind: 'lastName' },
  othername: { kind: 'otherName' },
  securityidentifier: { kind: 'securityIdentifier' },
};

/** Parses a PROFILE_FIELD_MAP source name; undefined when it is not one of SOURCE_NAMES. */
export function parseSourceName(text: string): VariableSource | undefined {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) {
    const simple = SIMPLE_SOURCES[trimmed.toLowerCase()];
    return simple === undefined ? undefined : { ...simple };
  }
  const prefix = trimmed.slice(0, colon).toLowerCase();
  // const text is taken as written after the colon: leading spaces may be meant.
  const rest = prefix === 'const' ? text.slice(text.indexOf(':') + 1) : trimmed.slice(colon + 1).trim();
  if (prefix === 'const') return rest === '' ? undefined : { kind: 'const', text: rest };
  if (prefix === 'othername' && isDottedOid(rest)) return { kind: 'otherName', oid: rest };
  return undefined;
}

export function formatSource(source: VariableSource): string {
  if (source.kind === 'const') return `const:${source.text}`;
  if (source.kind === 'otherName' && source.oid !== undefined) return `otherName:${source.oid}`;
  return source.kind;
}

/** Where a variable sits: the subject, the SAN, the seat, or the SID extension (1.3.6.1.4.1.311.25.2). */
export type AttributeLocation = 'subject' | 'san' | 'seatId' | 'sidExtension';

export interface VariableOccurrence {
  location: AttributeLocation;
  /** The profile's attributeName (`seatIdInfo` for the seat). */
  attributeName: string;
  type?: string;
  mandatory: boolean;
  /**
   * The variable is the whole value of its field (`cn=$common_name`), not a part of it (`cn=$first $last`, or
   * one of the two `cn` pairs of DigiCert's default CN). Only a whole-value field tells which request value
   * fills the variable.
   */
  wholeValue: boolean;
}

export interface PolicyVariable {
  /** The variable without `$`, as the profile first spells it: the nameValuePair name. */
  name: string;
  /** Mandatory where any of its occurrences is. */
  mandatory: boolean;
  /** Every place the variable sits, in profile order: subject, SAN, SID extension, seatIdInfo. */
  occurrences: VariableOccurrence[];
}

const PURE_VARIABLE = /^\$([A-Za-z0-9_.:-]+)$/u;

/** `$common_name` → `common_name`; undefined for a fixed value or one holding more than a single variable. */
export function variableNameOf(value: string): string | undefined {
  return PURE_VARIABLE.exec(value.trim())?.[1];
}

export function describeOccurrence(occurrence: VariableOccurrence): string {
  if (occurrence.location === 'seatId') return 'seatIdInfo';
  if (occurrence.location === 'sidExtension')
    return `SID extension ${OID_SID_EXTENSION} attribute "${occurrence.attributeName}"`;
  const where = occurrence.location === 'subject' ? 'subject attribute' : 'SAN attribute';
  const type =
    isOtherNameAttribute(occurrence.attributeName) && occurrence.type !== undefined
      ? ` (type ${occurrence.type})`
      : '';
  return `${where} "${occurrence.attributeName}"${type}`;
}

/**
 * Every `$variable` of the policy, each once (names compared case-insensitively, the first spelling kept),
 * with the places it sits. A value may hold several variables and text (`$mail_firstName $mail_lastName`).
 */
export function collectPolicyVariables(policy: ProfilePolicy): PolicyVariable[] {
  const byKey = new Map<string, PolicyVariable>();
  const addAll = (
    location: AttributeLocation,
    attribute: Pick<PolicyAttribute, 'attributeName' | 'value' | 'mandatory' | 'type'>,
    fieldIsThisValueOnly: boolean,
  ): void => {
    const wholeValue = fieldIsThisValueOnly && variableNameOf(attribute.value) !== undefined;
    const seen = new Set<string>();
    for (const name of templateVariables(attribute.value)) {
      const key = variableKey(name);
      if (seen.has(key)) continue;
      seen.add(key);
      let variable = byKey.get(key);
      if (variable === undefined) {
        variable = { name, mandatory: false, occurrences: [] };
        byKey.set(key, variable);
      }
      const occurrence: VariableOccurrence = {
        location,
        attributeName: attribute.attributeName,
        mandatory: attribute.mandatory,
        wholeValue,
      };
      if (attribute.type !== undefined) occurrence.type = attribute.type;
      variable.occurrences.push(occurrence);
      variable.mandatory ||= attribute.mandatory;
    }
  };

  for (const field of subjectFieldsOf(policy.subjectAttributes)) {
    for (const attribute of field.attributes) addAll('subject', attribute, field.attributes.length === 1);
  }
  for (const attribute of policy.sanAttributes) addAll('san', attribute, true);
  if (policy.sidAttribute !== undefined) addAll('sidExtension', policy.sidAttribute, true);
  if (policy.seatId !== undefined) {
    addAll('seatId', { attributeName: 'seatIdInfo', ...policy.seatId }, true);
  }
  return [...byKey.values()];
}

export type SourceDecider = 'PROFILE_FIELD_MAP' | 'attribute' | 'variable name';

export interface SourceDecision {
  source: VariableSource;
  decidedBy: SourceDecider;
}

/** Names public DigiCert clients send (pki-ws-protocol.md §1b/§3), lower-cased. */
const WELL_KNOWN_VARIABLES: Record<string, VariableSource['kind']> = {
  common_name: 'commonName',
  mail_email: 'email',
  emailaddress: 'email',
  email: 'email',
  mail: 'email',
  othernameupn: 'upn',
  upn: 'upn',
  mail_firstname: 'firstName',
  mail_lastname: 'lastName',
  seat_id: 'email',
};

/** The request value a whole-value SAN field holds; undefined for DNS names and unknown fields. */
function sourceFromSanAttribute(occurrence: VariableOccurrence): VariableSource | undefined {
  switch (sanAttributeKind(occurrence)) {
    case 'email':
      return { kind: 'email' };
    case 'upn':
      return { kind: 'upn' };
    case 'otherName': {
      const oid = otherNameTypeOf(occurrence);
      return oid === undefined ? { kind: 'otherName' } : { kind: 'otherName', oid };
    }
    default:
      return undefined;
  }
}

/** The request value a whole-value subject field holds: the CN, or the e-mail for E. */
function sourceFromSubjectAttribute(occurrence: VariableOccurrence): VariableSource | undefined {
  switch (subjectAttributeKind(occurrence.attributeName)) {
    case 'CN':
      return { kind: 'commonName' };
    case 'E':
      return { kind: 'email' };
    default:
      return undefined;
  }
}

/** The otherName field a variable sits on, if any (its type is the otherName OID). */
export function otherNameOccurrenceOf(variable: PolicyVariable): VariableOccurrence | undefined {
  return variable.occurrences.find(
    (occurrence) => occurrence.location === 'san' && isOtherNameAttribute(occurrence.attributeName),
  );
}

function fieldMapEntry(
  variableName: string,
  fieldMap: Readonly<Record<string, string>>,
): { key: string; source: string } | undefined {
  const wanted = variableKey(variableName);
  for (const [key, source] of Object.entries(fieldMap)) {
    if (variableKey(key.replace(/^\$/u, '')) === wanted) return { key, source };
  }
  return undefined;
}

function firstSource(
  variable: PolicyVariable,
  location: AttributeLocation,
  sourceOf: (occurrence: VariableOccurrence) => VariableSource | undefined,
): VariableSource | undefined {
  for (const occurrence of variable.occurrences) {
    if (occurrence.location !== location || !occurrence.wholeValue) continue;
    const source = sourceOf(occurrence);
    if (source !== undefined) return source;
  }
  return undefined;
}

/**
 * Decides where a variable's value comes from, first that applies:
 * (a) PROFILE_FIELD_MAP;
 * (b) a SAN field that is wholly the variable (rfc822Name → e-mail, otherNameUPN → UPN, otherName → its type),
 *     or the SID extension's field (→ the request's securityIdentifier);
 * (c) its well-known name (`mail_firstName` → first name, even on a `cn` field: DigiCert's default CN);
 * (d) a subject field that is wholly the variable (cn → the CN, e → the e-mail).
 * Undefined when none applies. A PROFILE_FIELD_MAP entry that names no known source is a POLICY_MISMATCH.
 */
export function decideVariableSource(
  variable: PolicyVariable,
  fieldMap: Readonly<Record<string, string>>,
): SourceDecision | undefined {
  const mapped = fieldMapEntry(variable.name, fieldMap);
  if (mapped !== undefined) {
    const source = parseSourceName(mapped.source);
    if (source === undefined) {
      throw new BrokerError(
        'POLICY_MISMATCH',
        `PROFILE_FIELD_MAP maps the DigiCert profile variable $${variable.name} to "${mapped.source}", which is not a source the broker knows (${SOURCE_NAMES.join(', ')}).`,
        {
          remedy: `Set PROFILE_FIELD_MAP["${mapped.key}"] to one of ${SOURCE_NAMES.join(', ')}, e.g. PROFILE_FIELD_MAP={"${mapped.key}":"email"}.`,
        },
      );
    }
    if (source.kind === 'otherName' && source.oid === undefined) {
      const occurrence = otherNameOccurrenceOf(variable);
      const oid = occurrence === undefined ? undefined : otherNameTypeOf(occurrence);
      if (oid !== undefined) source.oid = oid;
    }
    return { source, decidedBy: 'PROFILE_FIELD_MAP' };
  }

  const fromSan = firstSource(variable, 'san', sourceFromSanAttribute);
  if (fromSan !== undefined) return { source: fromSan, decidedBy: 'attribute' };
  const fromSid = firstSource(variable, 'sidExtension', () => ({ kind: 'securityIdentifier' }));
  if (fromSid !== undefined) return { source: fromSid, decidedBy: 'attribute' };

  const wellKnown = WELL_KNOWN_VARIABLES[variableKey(variable.name)];
  if (wellKnown !== undefined && wellKnown !== 'const' && wellKnown !== 'otherName') {
    return { source: { kind: wellKnown }, decidedBy: 'variable name' };
  }

  const fromSubject = firstSource(variable, 'subject', sourceFromSubjectAttribute);
  if (fromSubject !== undefined) return { source: fromSubject, decidedBy: 'attribute' };
  return undefined;
}
