import { BrokerError } from '../contract/errors';
import type { PkcsRequest } from '../contract/types';
import type { NameValuePair, ProfilePolicy } from '../digicert/types';
import { chooseKeySize } from './keySize';
import { deriveMailNames, findUnsupportedNameCharacter } from './names';
import { bindRequestOtherNames, findOtherName, type BoundOtherName } from './otherNameFields';
import {
  EMAIL_FALLBACKS,
  SUBJECT_EMAIL_FALLBACKS,
  UPN_FALLBACKS,
  resolveSanValues,
  type ResolvedSanValues,
} from './san';
import { parseSubjectName, type ParsedSubjectName } from './subject';
import { isDottedOid, looksLikeMailAddress } from './text';
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

const UPN_OTHERNAME_OID = '1.3.6.1.4.1.311.20.2.3';

interface DecidedVariable {
  variable: PolicyVariable;
  decision: SourceDecision;
}

interface MappingInput {
  subject: ParsedSubjectName;
  san: ResolvedSanValues;
  otherNames: BoundOtherName[];
}

const NAME_VARIABLES = new Set(['mail_firstname', 'mail_lastname']);

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
  }
}

function isNameVariable(variable: PolicyVariable, source: VariableSource): boolean {
  return (
    source.kind === 'firstName' ||
    source.kind === 'lastName' ||
    NAME_VARIABLES.has(variable.name.toLowerCase())
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

/** Value sent for each variable, in profile order; variables left out are absent. */
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
    values.set(variable.name, value);
  }
  return values;
}

const SUBJECT_SHORT_NAMES: Record<string, string> = {
  cn: 'CN',
  commonname: 'CN',
  e: 'E',
  email: 'E',
  emailaddress: 'E',
  mail: 'E',
  o: 'O',
  organization: 'O',
  organizationname: 'O',
  ou: 'OU',
  organizationalunit: 'OU',
  organizationalunitname: 'OU',
  c: 'C',
  country: 'C',
  countryname: 'C',
  l: 'L',
  locality: 'L',
  localityname: 'L',
  st: 'ST',
  s: 'ST',
  state: 'ST',
  stateorprovincename: 'ST',
};

/**
 * The CSR subject: what the certificate will hold, in profile order — fixed attributes as the profile fixes
 * them, variables as sent. CN comes from the request when the profile gives none; E too when the request
 * subject has one. Attributes without a known short name are left to the CA, which fills them from its profile.
 */
function csrSubjectOf(
  policy: ProfilePolicy,
  values: ReadonlyMap<string, string>,
  subject: ParsedSubjectName,
): EnrollmentPlan['csrSubject'] {
  const entries: EnrollmentPlan['csrSubject'] = [];
  const add = (shortName: string, value: string): void => {
    if (!entries.some((entry) => entry.shortName === shortName && entry.value === value)) {
      entries.push({ shortName, value });
    }
  };
  for (const attribute of policy.subjectAttributes) {
    const shortName = SUBJECT_SHORT_NAMES[attribute.attributeName.toLowerCase()];
    if (shortName === undefined) continue;
    const name = variableNameOf(attribute.value);
    const value = name === undefined ? attribute.value.trim() : values.get(name);
    if (value !== undefined && value !== '') add(shortName, value);
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

function sanKindOf(attributeName: string): CsrSanEntry['kind'] | undefined {
  switch (attributeName.toLowerCase()) {
    case 'rfc822name':
    case 'email':
      return 'email';
    case 'othernameupn':
    case 'upn':
    case 'userprincipalname':
      return 'upn';
    case 'othername':
      return 'otherName';
    default:
      return undefined;
  }
}

/**
 * The CSR's SAN: for every SAN field of the profile filled by a variable we send, the value in its proper
 * form. Fixed SAN values are the CA's business; fields of other kinds (DNS, IP) have no request source.
 */
function csrSanOf(
  policy: ProfilePolicy,
  decided: readonly DecidedVariable[],
  values: ReadonlyMap<string, string>,
  otherNames: readonly BoundOtherName[],
): CsrSanEntry[] {
  const entries: CsrSanEntry[] = [];
  const sourceOf = new Map(decided.map(({ variable, decision }) => [variable.name, decision.source]));
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
    const name = variableNameOf(attribute.value);
    if (name === undefined) continue;
    const value = values.get(name);
    const source = sourceOf.get(name);
    const kind = sanKindOf(attribute.attributeName);
    if (value === undefined || source === undefined || kind === undefined) continue;

    if (kind === 'otherName') {
      if (source.kind === 'otherName') {
        const otherName = findOtherName(otherNames, source);
        const oid =
          otherName?.effectiveOid ??
          (attribute.type !== undefined && isDottedOid(attribute.type) ? attribute.type : undefined);
        // Without a type-id the otherName cannot be encoded; the CA still receives the value as a pair.
        if (otherName !== undefined && oid !== undefined)
          add({ kind: 'otherName', oid, valueDer: otherName.value.der });
      } else if (attribute.type === UPN_OTHERNAME_OID && looksLikeMailAddress(value)) {
        add({ kind: 'upn', value });
      }
      continue;
    }
    // A field mapped to a non-address source (e.g. the CN) is sent as a pair only; it has no place in the CSR.
    if (looksLikeMailAddress(value)) add({ kind, value });
  }
  return entries;
}

/**
 * Turns a validated request and the profile's policy into what the enrollment sends: the CSR's subject and
 * SAN, the `$variable` name/value pairs (each once; fixed profile values are not sent, the CA has them), the
 * seat and the key size. Pure: no I/O. Every refusal is a BrokerError naming the request field or the policy
 * variable, with a remedy.
 */
export function planEnrollment(
  request: PkcsRequest,
  policy: ProfilePolicy,
  options: PlanOptions = {},
): EnrollmentPlan {
  const subject = parseSubjectName(request.subjectName);
  const san = resolveSanValues(request.subjectAlternativeNames, subject);
  const keySize = chooseKeySize(request.keySize, policy.keySize);
  const fieldMap = options.fieldMap ?? {};

  const decided: DecidedVariable[] = [];
  for (const variable of collectPolicyVariables(policy)) {
    const decision = decideVariableSource(variable, fieldMap);
    if (decision !== undefined) decided.push({ variable, decision });
    else if (variable.mandatory) throw unknownSourceError(variable);
    // An optional variable nobody can fill is left out: the CA does not need it.
  }

  const otherNames = bindRequestOtherNames(
    san.otherNames,
    policy,
    decided.map(({ decision }) => decision.source),
  );
  const values = resolveVariableValues(decided, { subject, san, otherNames });

  const nameValuePairs: NameValuePair[] = [];
  let seatId: string | undefined;
  if (policy.seatId !== undefined) {
    const seatVariable = variableNameOf(policy.seatId.value);
    seatId = seatVariable === undefined ? policy.seatId.value.trim() || undefined : values.get(seatVariable);
    const seatAlreadySent = [...values.keys()].some((name) => name.toLowerCase() === SEAT_PAIR_NAME);
    // A fixed seat is the CA's own; only a variable one is sent.
    if (seatVariable !== undefined && seatId !== undefined && !seatAlreadySent) {
      nameValuePairs.push({ name: SEAT_PAIR_NAME, value: seatId });
    }
  }
  for (const [name, value] of values) nameValuePairs.push({ name, value });

  const plan: EnrollmentPlan = {
    csrSubject: csrSubjectOf(policy, values, subject),
    csrSan: csrSanOf(policy, decided, values, otherNames),
    nameValuePairs,
    keySize,
  };
  if (seatId !== undefined) plan.seatId = seatId;
  return plan;
}
