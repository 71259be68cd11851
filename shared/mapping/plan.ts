import { BrokerError } from '../contract/errors';
import type { PkcsRequest } from '../contract/types';
import type { NameValuePair, ProfilePolicy } from '../digicert/types';
import { isOtherNameAttribute, otherNameTypeOf, sanAttributeKind, subjectFieldsOf } from './attributeKinds';
import { chooseKey } from './keySize';
import { deriveMailNames, findUnsupportedNameCharacter } from './mailNames';
import { bindRequestOtherNames, findOtherName, type BoundOtherName } from './otherNameFields';
import {
  EMAIL_FALLBACKS,
  SUBJECT_EMAIL_FALLBACKS,
  UPN_FALLBACKS,
  resolveSanValues,
  type ResolvedSanValues,
} from './san';
import { parseSubjectName, type ParsedSubjectName } from './subject';
import { renderTemplate, templateVariables, variableKey } from './template';
import { looksLikeMailAddress } from './text';
import type { CsrSanEntry, EnrollmentPlan } from './types';
import {
  collectPolicyVariables,
  decideVariableSource,
  describeOccurrence,
  formatSource,
  SOURCE_NAMES,
  variableNameOf,
  type PolicyVariable,
  type SourceDecision,
  type VariableSource,
} from './variables';

export interface PlanOptions {
  /** PROFILE_FIELD_MAP: variable name (without `$`, any case) → source name (see VariableSource). */
  fieldMap?: Readonly<Record<string, string>>;
}

/** The nameValuePair that names the seat the certificate is counted against. */
export const SEAT_PAIR_NAME = 'seat_id';

interface DecidedVariable {
  variable: PolicyVariable;
  decision: SourceDecision;
}

interface MappingInput {
  subject: ParsedSubjectName;
  san: ResolvedSanValues;
  otherNames: BoundOtherName[];
  securityIdentifier?: string;
}

/** Where the admin turns to when the SID and the profile disagree: the connector's advice too. */
const SID_PROFILE_REMEDY =
  'Use DigiCert certificate profiles that match the request: one with the SID field (an extension 1.3.6.1.4.1.311.25.2 whose value is a variable such as $objectSid) for accounts with an on-premises SID, another without it for accounts without one, and send securityIdentifier only with the first.';

const NAME_VARIABLES = new Set(['mail_firstname', 'mail_lastname']);

/** Values of the variables that are sent, keyed by variableKey (case-insensitive name). */
type VariableValues = ReadonlyMap<string, string>;

function whereItSits(variable: PolicyVariable): string {
  return variable.occurrences.map(describeOccurrence).join(', ');
}

function unknownSourceError(variable: PolicyVariable): BrokerError {
  const attribute =
    variable.occurrences.find((occurrence) => occurrence.mandatory) ?? variable.occurrences[0];
  const fixIt =
    attribute === undefined || attribute.location === 'seatId'
      ? 'fix the seat id to a constant in the DigiCert certificate profile'
      : `fix ${describeOccurrence(attribute)} to a constant value in the DigiCert certificate profile`;
  return new BrokerError(
    'POLICY_MISMATCH',
    `The DigiCert certificate profile requires the variable $${variable.name} (${whereItSits(variable)}), and the broker does not know which request value fills it.`,
    {
      remedy: `Either ${fixIt}, or map the variable with PROFILE_FIELD_MAP, e.g. PROFILE_FIELD_MAP={"${variable.name}":"const:<value>"} or {"${variable.name}":"email"} (sources: ${SOURCE_NAMES.join(', ')}).`,
    },
  );
}

function missingValueError(variable: PolicyVariable, source: VariableSource): BrokerError {
  const where = whereItSits(variable);
  switch (source.kind) {
    case 'email':
      return new BrokerError(
        'SAN_VALUE_MISSING',
        `The DigiCert certificate profile requires $${variable.name} (${where}) to be an e-mail address, but the request has none: tried ${EMAIL_FALLBACKS}.`,
      );
    case 'upn':
      return new BrokerError(
        'SAN_VALUE_MISSING',
        `The DigiCert certificate profile requires $${variable.name} (${where}) to be a UPN, but the request has none: tried ${UPN_FALLBACKS}.`,
      );
    case 'subjectEmail':
      return new BrokerError(
        'SAN_VALUE_MISSING',
        `The DigiCert certificate profile requires $${variable.name} (${where}) to be the subject e-mail, but the request has none: tried ${SUBJECT_EMAIL_FALLBACKS}.`,
      );
    case 'securityIdentifier':
      return new BrokerError(
        'POLICY_MISMATCH',
        `The DigiCert certificate profile requires a SID for strong certificate mapping ($${variable.name}, ${where}), but the request has no securityIdentifier.`,
        {
          remedy: `Send the account's on-premises SID (onPremisesSecurityIdentifier in Entra ID, S-1-5-21-…) in securityIdentifier, or, for accounts without one, use a DigiCert profile whose SID field is optional or absent. ${SID_PROFILE_REMEDY}`,
        },
      );
    case 'otherName': {
      const type = source.oid === undefined ? 'an otherName' : `the otherName of type ${source.oid}`;
      const wanted =
        source.oid === undefined
          ? 'no AltNameTypeOtherName entry'
          : `no AltNameTypeOtherName entry of type ${source.oid}`;
      return new BrokerError(
        'SAN_VALUE_MISSING',
        `The DigiCert certificate profile requires ${type} ($${variable.name}, ${where}), but subjectAlternativeNames has ${wanted}.`,
      );
    }
    default:
      // commonName, names and constants always have a value; reaching here is a mapping bug, still reported.
      return new BrokerError(
        'POLICY_MISMATCH',
        `The DigiCert certificate profile requires $${variable.name} (${where}), and its source ${formatSource(source)} gave no value.`,
      );
  }
}

function valueFrom(source: VariableSource, input: MappingInput): string | undefined {
  switch (source.kind) {
    case 'commonName':
      return input.subject.commonName;
    case 'email':
      return input.san.email?.value;
    case 'upn':
      return input.san.upn?.value;
    case 'subjectEmail':
      return input.san.subjectEmail?.value;
    case 'firstName':
      return deriveMailNames(input.subject.commonName).firstName;
    case 'lastName':
      return deriveMailNames(input.subject.commonName).lastName;
    case 'otherName':
      return findOtherName(input.otherNames, source)?.value.base64;
    case 'const':
      return source.text;
    case 'securityIdentifier':
      return input.securityIdentifier;
  }
}

function isNameVariable(variable: PolicyVariable, source: VariableSource): boolean {
  return (
    source.kind === 'firstName' ||
    source.kind === 'lastName' ||
    NAME_VARIABLES.has(variableKey(variable.name))
  );
}

/**
 * Checks a mail_firstName/mail_lastName value against DigiCert's character set. Undefined means "leave the
 * optional variable out"; a mandatory one with a refused character fails with the seed's remedy.
 */
function checkedNameValue(variable: PolicyVariable, value: string): string | undefined {
  const offending = findUnsupportedNameCharacter(value);
  if (offending === undefined) return value;
  if (!variable.mandatory) return undefined;
  throw new BrokerError(
    'NAME_CHARACTERS_UNSUPPORTED',
    `The DigiCert certificate profile requires $${variable.name} (${whereItSits(variable)}), derived from the subject's common name, and its value contains the character ${offending.shown} at position ${offending.position}, which DigiCert does not accept there (letters, digits, space, hyphen, apostrophe and period only).`,
  );
}

/** Value sent for each variable, keyed by variableKey, in profile order; variables left out are absent. */
function resolveVariableValues(
  decided: readonly DecidedVariable[],
  input: MappingInput,
): Map<string, string> {
  const values = new Map<string, string>();
  for (const { variable, decision } of decided) {
    let value = valueFrom(decision.source, input);
    if (value === undefined || value === '') {
      if (variable.mandatory) throw missingValueError(variable, decision.source);
      continue;
    }
    if (isNameVariable(variable, decision.source)) {
      value = checkedNameValue(variable, value);
      if (value === undefined) continue;
    }
    values.set(variableKey(variable.name), value);
  }
  return values;
}

/**
 * The CSR subject: what the certificate will hold, in profile order — fixed attributes as the profile fixes
 * them, templates with their variables filled as sent; consecutive `cn` attributes make one CN, joined with a
 * space as the CA joins them. A value whose variables are not all sent is left out (the CA decides). CN comes
 * from the request when the profile gives none; E too when the request subject has one. Attributes without a
 * known short name are left to the CA, which fills them from its profile.
 */
function csrSubjectOf(
  policy: ProfilePolicy,
  values: VariableValues,
  subject: ParsedSubjectName,
): EnrollmentPlan['csrSubject'] {
  const entries: EnrollmentPlan['csrSubject'] = [];
  const add = (shortName: string, value: string): void => {
    if (!entries.some((entry) => entry.shortName === shortName && entry.value === value)) {
      entries.push({ shortName, value });
    }
  };
  for (const field of subjectFieldsOf(policy.subjectAttributes)) {
    if (field.shortName === undefined) continue;
    const parts = field.attributes
      .map((attribute) => renderTemplate(attribute.value, (key) => values.get(key)))
      .filter((part): part is string => part !== undefined && part !== '');
    if (parts.length > 0) add(field.shortName, parts.join(' '));
  }
  if (!entries.some((entry) => entry.shortName === 'CN'))
    entries.unshift({ shortName: 'CN', value: subject.commonName });
  if (
    subject.format === 'CN,E' &&
    subject.email !== undefined &&
    !entries.some((entry) => entry.shortName === 'E')
  ) {
    const cnIndex = entries.findIndex((entry) => entry.shortName === 'CN');
    entries.splice(cnIndex + 1, 0, { shortName: 'E', value: subject.email });
  }
  return entries;
}

/**
 * The CSR's SAN: for every SAN field of the profile filled by variables we send, the value in its proper
 * form. Fixed SAN values are the CA's business; DNS fields and unknown fields have no place here.
 */
function csrSanOf(
  policy: ProfilePolicy,
  decided: readonly DecidedVariable[],
  values: VariableValues,
  otherNames: readonly BoundOtherName[],
): CsrSanEntry[] {
  const entries: CsrSanEntry[] = [];
  const sourceOf = new Map(
    decided.map(({ variable, decision }) => [variableKey(variable.name), decision.source]),
  );
  const add = (entry: CsrSanEntry): void => {
    const duplicate = entries.some((existing) =>
      existing.kind === 'otherName' && entry.kind === 'otherName'
        ? existing.oid === entry.oid
        : existing.kind === entry.kind &&
          'value' in existing &&
          'value' in entry &&
          existing.value === entry.value,
    );
    if (!duplicate) entries.push(entry);
  };

  for (const attribute of policy.sanAttributes) {
    const variables = templateVariables(attribute.value);
    if (variables.length === 0) continue;
    const value = renderTemplate(attribute.value, (key) => values.get(key));
    const kind = sanAttributeKind(attribute);
    if (value === undefined || value === '' || kind === undefined || kind === 'dns') continue;

    const pure = variableNameOf(attribute.value);
    const only = pure === undefined ? undefined : sourceOf.get(variableKey(pure));
    if (only?.kind === 'otherName') {
      // The request's otherName goes in byte for byte, under the type it was bound to.
      const otherName = findOtherName(otherNames, only);
      const oid = otherName?.effectiveOid ?? otherNameTypeOf(attribute) ?? only.oid;
      // Without a type-id the otherName cannot be encoded; the CA still receives the value as a pair.
      if (isOtherNameAttribute(attribute.attributeName) && otherName !== undefined && oid !== undefined)
        add({ kind: 'otherName', oid, valueDer: otherName.value.der });
      continue;
    }
    // An otherName field of another type filled from a non-otherName source is sent as a pair only.
    if (kind === 'otherName') continue;
    // A field mapped to a non-address source (e.g. the CN) is sent as a pair only; it has no place in the CSR.
    if (looksLikeMailAddress(value)) add({ kind, value });
  }
  return entries;
}

/** A SID was sent for a profile that has no SID field to carry it (or fixes its value). */
function sidWithoutFieldError(policy: ProfilePolicy): BrokerError {
  const sidField = policy.sidAttribute;
  const why =
    sidField === undefined
      ? 'has no SID field (no extension 1.3.6.1.4.1.311.25.2)'
      : `fixes its SID field (attribute "${sidField.attributeName}") to a value that is no variable the broker fills`;
  return new BrokerError(
    'POLICY_MISMATCH',
    `securityIdentifier was sent, but the DigiCert certificate profile ${policy.profileOid} ${why}: the certificate could not carry the SID for strong certificate mapping.`,
    { remedy: SID_PROFILE_REMEDY },
  );
}

/** The seat: fixed by the profile, or its variables filled (undefined when one has no value). */
function seatOf(policy: ProfilePolicy, values: VariableValues): { seatId?: string; fromVariables: boolean } {
  if (policy.seatId === undefined) return { fromVariables: false };
  const fromVariables = templateVariables(policy.seatId.value).length > 0;
  const seatId = renderTemplate(policy.seatId.value, (key) => values.get(key));
  return seatId === undefined || seatId === '' ? { fromVariables } : { seatId, fromVariables };
}

/**
 * Turns a validated request and the profile's policy into what the enrollment sends: the CSR's subject and
 * SAN, the `$variable` name/value pairs (each once; fixed profile values are not sent, the CA has them), the
 * seat and the key (an RSA size, or P-256 where the profile asks for EC keys). Pure: no I/O. Every refusal is a BrokerError naming the request field or the policy
 * variable, with a remedy.
 */
export function planEnrollment(
  request: PkcsRequest,
  policy: ProfilePolicy,
  options: PlanOptions = {},
): EnrollmentPlan {
  const subject = parseSubjectName(request.subjectName);
  const san = resolveSanValues(request.subjectAlternativeNames, subject);
  const keySize = chooseKey(request.keySize, policy);
  const fieldMap = options.fieldMap ?? {};

  const decided: DecidedVariable[] = [];
  for (const variable of collectPolicyVariables(policy)) {
    const decision = decideVariableSource(variable, fieldMap);
    if (decision !== undefined) decided.push({ variable, decision });
    else if (variable.mandatory) throw unknownSourceError(variable);
    // An optional variable nobody can fill is left out: the CA does not need it.
  }

  const carriesSid = decided.some(({ decision }) => decision.source.kind === 'securityIdentifier');
  if (request.securityIdentifier !== undefined && !carriesSid) throw sidWithoutFieldError(policy);

  const otherNames = bindRequestOtherNames(
    san.otherNames,
    policy,
    decided.map(({ decision }) => decision.source),
  );
  const input: MappingInput = { subject, san, otherNames };
  if (request.securityIdentifier !== undefined) input.securityIdentifier = request.securityIdentifier;
  const values = resolveVariableValues(decided, input);

  const nameValuePairs: NameValuePair[] = [];
  const { seatId, fromVariables } = seatOf(policy, values);
  // A fixed seat is the CA's own; only one filled from variables is sent (once, if $seat_id is not itself one).
  if (fromVariables && seatId !== undefined && !values.has(variableKey(SEAT_PAIR_NAME))) {
    nameValuePairs.push({ name: SEAT_PAIR_NAME, value: seatId });
  }
  for (const { variable } of decided) {
    const value = values.get(variableKey(variable.name));
    // Sent under the name exactly as the profile spells it.
    if (value !== undefined) nameValuePairs.push({ name: variable.name, value });
  }

  const plan: EnrollmentPlan = {
    csrSubject: csrSubjectOf(policy, values, subject),
    csrSan: csrSanOf(policy, decided, values, otherNames),
    nameValuePairs,
    keySize,
  };
  if (seatId !== undefined) plan.seatId = seatId;
  if (san.upn !== undefined) plan.upn = san.upn;
  // The CA fills its extension from the variable; the CSR asks for the same one so the request says it all.
  if (policy.sidAttribute !== undefined && carriesSid && request.securityIdentifier !== undefined)
    plan.csrSecurityIdentifier = request.securityIdentifier;
  return plan;
}
