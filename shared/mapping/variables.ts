import { BrokerError } from '../contract/errors';
import type { PolicyAttribute, ProfilePolicy } from '../digicert/types';
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
  | { kind: 'const'; text: string };

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
] as const;

const SIMPLE_SOURCES: Record<string, VariableSource> = {
  commonname: { kind: 'commonName' },
  email: { kind: 'email' },
  upn: { kind: 'upn' },
  subjectemail: { kind: 'subjectEmail' },
  firstname: { kind: 'firstName' },
  lastname: { kind: 'lastName' },
  othername: { kind: 'otherName' },
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

export type AttributeLocation = 'subject' | 'san' | 'seatId';

export interface VariableOccurrence {
  location: AttributeLocation;
  /** The profile's attributeName (`seatIdInfo` for the seat). */
  attributeName: string;
  type?: string;
  mandatory: boolean;
}

export interface PolicyVariable {
  /** The variable without `$`: the nameValuePair name. */
  name: string;
  /** Mandatory where any of its occurrences is. */
  mandatory: boolean;
  /** Every place the variable sits, in profile order: subject attributes, SAN attributes, seatIdInfo. */
  occurrences: VariableOccurrence[];
}

/** `$common_name` → `common_name`; undefined for a fixed value. */
export function variableNameOf(value: string): string | undefined {
  const trimmed = value.trim();
  if (!trimmed.startsWith('$') || trimmed.length === 1) return undefined;
  return trimmed.slice(1);
}

export function describeOccurrence(occurrence: VariableOccurrence): string {
  if (occurrence.location === 'seatId') return 'seatIdInfo';
  const where = occurrence.location === 'subject' ? 'subject attribute' : 'SAN attribute';
  const type =
    occurrence.attributeName.toLowerCase() === 'othername' && occurrence.type !== undefined
      ? ` (type ${occurrence.type})`
      : '';
  return `${where} "${occurrence.attributeName}"${type}`;
}

/** Every `$variable` of the policy, each once, with the places it sits. */
export function collectPolicyVariables(policy: ProfilePolicy): PolicyVariable[] {
  const byName = new Map<string, PolicyVariable>();
  const add = (value: string, occurrence: VariableOccurrence): void => {
    const name = variableNameOf(value);
    if (name === undefined) return;
    let variable = byName.get(name);
    if (variable === undefined) {
      variable = { name, mandatory: false, occurrences: [] };
      byName.set(name, variable);
    }
    variable.occurrences.push(occurrence);
    variable.mandatory ||= occurrence.mandatory;
  };
  const occurrenceOf = (location: AttributeLocation, attribute: PolicyAttribute): VariableOccurrence => {
    const occurrence: VariableOccurrence = {
      location,
      attributeName: attribute.attributeName,
      mandatory: attribute.mandatory,
    };
    if (attribute.type !== undefined) occurrence.type = attribute.type;
    return occurrence;
  };

  for (const attribute of policy.subjectAttributes) add(attribute.value, occurrenceOf('subject', attribute));
  for (const attribute of policy.sanAttributes) add(attribute.value, occurrenceOf('san', attribute));
  if (policy.seatId !== undefined) {
    add(policy.seatId.value, {
      location: 'seatId',
      attributeName: 'seatIdInfo',
      mandatory: policy.seatId.mandatory,
    });
  }
  return [...byName.values()];
}

export type SourceDecider = 'PROFILE_FIELD_MAP' | 'attribute' | 'variable name';

export interface SourceDecision {
  source: VariableSource;
  decidedBy: SourceDecider;
}

const SUBJECT_ATTRIBUTE_SOURCES: Record<string, VariableSource['kind']> = {
  cn: 'commonName',
  commonname: 'commonName',
  e: 'email',
  email: 'email',
  emailaddress: 'email',
  mail: 'email',
};

const SAN_ATTRIBUTE_SOURCES: Record<string, VariableSource['kind']> = {
  rfc822name: 'email',
  email: 'email',
  othernameupn: 'upn',
  upn: 'upn',
  userprincipalname: 'upn',
  othername: 'otherName',
};

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

function otherNameOidOf(occurrence: VariableOccurrence): string | undefined {
  return occurrence.type !== undefined && isDottedOid(occurrence.type) ? occurrence.type : undefined;
}

function sourceFromAttribute(occurrence: VariableOccurrence): VariableSource | undefined {
  const key = occurrence.attributeName.toLowerCase();
  const kind =
    occurrence.location === 'subject'
      ? SUBJECT_ATTRIBUTE_SOURCES[key]
      : occurrence.location === 'san'
        ? SAN_ATTRIBUTE_SOURCES[key]
        : undefined;
  if (kind === undefined || kind === 'const') return undefined;
  if (kind === 'otherName') {
    const oid = otherNameOidOf(occurrence);
    return oid === undefined ? { kind } : { kind, oid };
  }
  return { kind };
}

/** The otherName field a variable sits on, if any (its type is the otherName OID). */
export function otherNameOccurrenceOf(variable: PolicyVariable): VariableOccurrence | undefined {
  return variable.occurrences.find(
    (occurrence) => occurrence.location === 'san' && occurrence.attributeName.toLowerCase() === 'othername',
  );
}

function fieldMapEntry(
  variableName: string,
  fieldMap: Readonly<Record<string, string>>,
): { key: string; source: string } | undefined {
  const wanted = variableName.toLowerCase();
  for (const [key, source] of Object.entries(fieldMap)) {
    if (key.replace(/^\$/u, '').toLowerCase() === wanted) return { key, source };
  }
  return undefined;
}

/**
 * Decides where a variable's value comes from: (a) PROFILE_FIELD_MAP, (b) the attribute it sits on (first
 * occurrence that tells), (c) its well-known name. Undefined when none applies. A PROFILE_FIELD_MAP entry that
 * names no known source is a POLICY_MISMATCH.
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
      const oid = occurrence === undefined ? undefined : otherNameOidOf(occurrence);
      if (oid !== undefined) source.oid = oid;
    }
    return { source, decidedBy: 'PROFILE_FIELD_MAP' };
  }

  for (const occurrence of variable.occurrences) {
    const source = sourceFromAttribute(occurrence);
    if (source !== undefined) return { source, decidedBy: 'attribute' };
  }

  const wellKnown = WELL_KNOWN_VARIABLES[variable.name.toLowerCase()];
  if (wellKnown !== undefined && wellKnown !== 'const' && wellKnown !== 'otherName') {
    return { source: { kind: wellKnown }, decidedBy: 'variable name' };
  }
  return undefined;
}
