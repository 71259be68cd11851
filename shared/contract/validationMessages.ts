/**
 * The contract's refusals in words an administrator can act on: ajv's errors as sentences naming the field
 * by its path (subjectAlternativeNames[1].type), the CA fields told from the value itself, and the order of
 * specificity that picks the error code when a message breaks several rules.
 */
import type { ErrorObject } from 'ajv/dist/2020';
import { BrokerError, type ErrorCode } from './errors';
import { isJsonObject } from './messageBody';
import requestSchema from './schemas/request.v1.schema.json';

/** How many problems one error message lists; the rest are counted. */
const MAX_PROBLEMS_LISTED = 3;

/** The request schema's shape of certificateAuthority (the allow-list is checked apart, in caHosts.ts). */
// eslint-disable-next-line security/detect-non-literal-regexp -- the pattern is a constant of our own JSON schema
export const CA_HOST_PATTERN = new RegExp(requestSchema.properties.certificateAuthority.pattern, 'u');
// eslint-disable-next-line security/detect-non-literal-regexp -- the pattern is a constant of our own JSON schema
const OID_PATTERN = new RegExp(requestSchema.$defs.oid.pattern, 'u');
const OID_MAX_LENGTH = requestSchema.$defs.oid.maxLength;
const CA_HOST_MAX_LENGTH = requestSchema.properties.certificateAuthority.maxLength;

const EXAMPLE_CA_HOST = 'pki-ws.symauth.com';
const EXAMPLE_PROFILE_OID = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

export interface Problem {
  code: ErrorCode;
  /** Lower comes first: the error takes the code of the first problem. */
  rank: number;
  sentence: string;
}

/**
 * The contract's order of specificity: a message that is not a v1 request at all (not JSON, not an object,
 * wrong schemaVersion, no usable requestId) first, then the CA fields in the order an administrator meets them
 * in the Intune profile, then everything else.
 */
const FIELD_RANKS: Readonly<Record<string, { code: ErrorCode; rank: number }>> = {
  '': { code: 'INVALID_REQUEST', rank: 0 },
  schemaVersion: { code: 'INVALID_REQUEST', rank: 0 },
  requestId: { code: 'INVALID_REQUEST', rank: 0 },
  certificateAuthority: { code: 'CA_NOT_ALLOWED', rank: 1 },
  certificateAuthorityName: { code: 'CA_NAME_INVALID', rank: 2 },
  certificateTemplateName: { code: 'TEMPLATE_INVALID', rank: 3 },
};
export const OTHER_FIELDS = { code: 'INVALID_REQUEST', rank: 4 } as const;

export function rankOfField(topLevelField: string): { code: ErrorCode; rank: number } {
  return Object.hasOwn(FIELD_RANKS, topLevelField) ? FIELD_RANKS[topLevelField] : OTHER_FIELDS;
}

export function problemsToError(problems: Problem[]): BrokerError {
  const ordered = [...problems].sort((a, b) => a.rank - b.rank);
  const listed = ordered.slice(0, MAX_PROBLEMS_LISTED).map((problem) => problem.sentence);
  const unlisted = ordered.length - listed.length;
  if (unlisted > 0) listed.push(`and ${unlisted} more problem${unlisted === 1 ? '' : 's'}`);
  return new BrokerError(ordered[0].code, listed.join('; '));
}

/** Top-level field an ajv error is about (for `required`/`additionalProperties`: the property it names). */
function topLevelFieldOf(error: ErrorObject): string {
  const [first] = pointerSegments(error.instancePath);
  if (first !== undefined) return first;
  if (error.keyword === 'required') return String(error.params.missingProperty);
  if (error.keyword === 'additionalProperties') return String(error.params.additionalProperty);
  return '';
}

/** Fields whose every problem is told by a sentence of their own, written from the value itself. */
const FIELD_SENTENCES: Readonly<Record<string, (value: unknown, present: boolean) => string>> = {
  certificateAuthority: describeCertificateAuthorityShape,
  certificateAuthorityName: describeCertificateAuthorityName,
  certificateTemplateName: describeCertificateTemplateName,
};

export function describeRequestSchemaErrors(
  message: unknown,
  errors: readonly ErrorObject[],
  rootName = 'the request (schemaVersion 1)',
): Problem[] {
  const problems: Problem[] = [];
  const fieldsWithOwnSentence = new Set<string>();
  const otherErrors: ErrorObject[] = [];
  for (const error of errors) {
    const field = topLevelFieldOf(error);
    const ownSentence = Object.hasOwn(FIELD_SENTENCES, field) ? FIELD_SENTENCES[field] : undefined;
    if (ownSentence === undefined || error.keyword === 'additionalProperties') {
      otherErrors.push(error);
    } else if (!fieldsWithOwnSentence.has(field)) {
      fieldsWithOwnSentence.add(field);
      const present = isJsonObject(message) && Object.hasOwn(message, field);
      problems.push({
        ...rankOfField(field),
        sentence: ownSentence(present ? message[field] : undefined, present),
      });
    }
  }
  for (const { error, sentence } of describeSchemaErrors(otherErrors, rootName)) {
    problems.push({ ...rankOfField(topLevelFieldOf(error)), sentence });
  }
  return problems;
}

/** One sentence per problem; the unknown fields of one object make one sentence that names them all. */
export function describeSchemaErrors(
  errors: readonly ErrorObject[],
  rootName: string,
): { error: ErrorObject; sentence: string }[] {
  const described: { error: ErrorObject; sentence: string }[] = [];
  const unknownFieldsByObject = new Map<string, ErrorObject[]>();
  for (const error of errors) {
    if (error.keyword === 'additionalProperties') {
      const group = unknownFieldsByObject.get(error.instancePath);
      if (group === undefined) unknownFieldsByObject.set(error.instancePath, [error]);
      else group.push(error);
    } else if (!isRedundant(error, errors)) {
      described.push({ error, sentence: describeSchemaError(error) });
    }
  }
  for (const group of unknownFieldsByObject.values()) {
    described.push({ error: group[0], sentence: describeUnknownFields(group, rootName) });
  }
  return described;
}

/** A SAN whose type is not allowed at all need not also be told that only otherName may carry an oid. */
function isRedundant(error: ErrorObject, errors: readonly ErrorObject[]): boolean {
  return (
    isOidOnlyOnOtherNameError(error) &&
    errors.some((other) => other.keyword === 'enum' && other.instancePath === error.instancePath)
  );
}

function isOidOnlyOnOtherNameError(error: ErrorObject): boolean {
  return error.keyword === 'const' && error.schemaPath.includes('/dependentSchemas/oid/');
}

// ---------------------------------------------------------------------------------------------------------
// Sentences for the CA fields (values are echoed: they come from the Intune profile, not from a person)

function describeCertificateAuthorityShape(value: unknown, present: boolean): string {
  const expected = `a bare host name or host:port such as ${EXAMPLE_CA_HOST}`;
  if (!present) return `certificateAuthority is required: ${expected}, listed in CA_ALLOWED_HOSTS`;
  if (typeof value !== 'string')
    return `certificateAuthority must be a string (${expected}), not ${kindOf(value)}`;
  if (value === '') return `certificateAuthority must not be empty: ${expected}`;
  if (value.length > CA_HOST_MAX_LENGTH) {
    return `certificateAuthority is ${value.length} characters, but a host name and port are at most ${CA_HOST_MAX_LENGTH}: use ${expected}`;
  }

  const found: string[] = [];
  let rest = value.trim();
  if (rest !== value) found.push('leading or trailing spaces');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(rest);
  if (scheme !== null) {
    found.push(`a scheme (${scheme[0]})`);
    rest = rest.slice(scheme[0].length);
  }
  const pathStart = rest.search(/[/?#]/);
  if (pathStart >= 0) {
    const path = rest.slice(pathStart);
    if (path === '/') found.push('a trailing slash');
    else if (path.endsWith('/')) found.push(`a path (${path.slice(0, -1)}) and a trailing slash`);
    else found.push(`a path (${path})`);
    rest = rest.slice(0, pathStart);
  }
  if (rest.endsWith('.') && CA_HOST_PATTERN.test(rest.slice(0, -1))) {
    found.push('a trailing dot');
    rest = rest.slice(0, -1);
  }
  const port = /:(\d+)$/.exec(rest);
  if (found.length === 0 && port !== null && CA_HOST_PATTERN.test(rest.slice(0, port.index))) {
    return `certificateAuthority ${quote(value)} has port ${port[1]}, which is not a TCP port (1 to 65535)`;
  }
  if (found.length > 0 && CA_HOST_PATTERN.test(rest)) {
    return `certificateAuthority ${quote(value)} has ${joinWords(found)}: use ${rest} (the bare host name or host:port, exactly as in the Intune profile)`;
  }
  return `certificateAuthority ${quote(value)} is not ${expected} (letters, digits, hyphens and dots, optionally :port)`;
}

function describeCertificateAuthorityName(value: unknown, present: boolean): string {
  const rule =
    'must be exactly "Symantec" (the name PKI-WS and the Intune connector use, even though the CA now belongs to DigiCert)';
  return present
    ? `certificateAuthorityName is ${describeValue(value)} but ${rule}`
    : `certificateAuthorityName is required and ${rule}`;
}

function describeCertificateTemplateName(value: unknown, present: boolean): string {
  const expected = `the DigiCert certificate profile OID in dotted-decimal form (numbers separated by dots), such as ${EXAMPLE_PROFILE_OID}`;
  if (!present) return `certificateTemplateName is required: ${expected}`;
  if (typeof value === 'string' && value.length > OID_MAX_LENGTH) {
    return `certificateTemplateName is ${value.length} characters, but an OID is at most ${OID_MAX_LENGTH} here: it must be ${expected}`;
  }
  if (typeof value === 'string' && value.trim() !== value && OID_PATTERN.test(value.trim())) {
    return `certificateTemplateName ${quote(value)} has leading or trailing spaces: use ${value.trim()}`;
  }
  return `certificateTemplateName is ${describeValue(value)}, which is not an OID: it must be ${expected}`;
}

// ---------------------------------------------------------------------------------------------------------
// ajv errors as sentences

function describeSchemaError(error: ErrorObject): string {
  const path = fieldPath(error.instancePath);
  const subject = path === '' ? 'the message' : path;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return `${fieldPath(error.instancePath, missing)} is required`;
    }
    case 'type':
      return `${subject} must be ${typeWords(params.type)}, not ${kindOf(error.data)}`;
    case 'enum':
      return `${subject} must be one of ${listValues(params.allowedValues)} (got ${describeValue(error.data)})`;
    case 'const':
      if (isOidOnlyOnOtherNameError(error)) {
        return `${fieldPath(parentPointer(error.instancePath), 'oid')} is only allowed when type is AltNameTypeOtherName`;
      }
      return `${subject} must be ${describeValue(params.allowedValue)} (got ${describeValue(error.data)})`;
    case 'pattern': {
      const rule = patternRule(error);
      return rule === undefined ? `${subject} must match ${String(params.pattern)}` : `${subject} ${rule}`;
    }
    case 'format':
      return `${subject} must be ${formatWords(String(params.format))}`;
    case 'minLength':
      return params.limit === 1
        ? `${subject} must not be empty`
        : `${subject} must be at least ${String(params.limit)} characters`;
    case 'maxLength':
      return `${subject} ${describeLength(error.data)}, but at most ${String(params.limit)} are allowed${limitReason(error)}: shorten it`;
    case 'maxItems':
      return `${subject} has ${Array.isArray(error.data) ? error.data.length : 'too many'} entries, but at most ${String(params.limit)} are allowed${limitReason(error)}: send fewer`;
    default:
      return `${subject} ${error.message ?? `breaks the rule "${error.keyword}"`}`;
  }
}

function describeUnknownFields(errors: readonly ErrorObject[], rootName: string): string {
  const containerPointer = errors[0].instancePath;
  const names = errors.map((error) => fieldPath(containerPointer, String(error.params.additionalProperty)));
  const container = containerPointer === '' ? rootName : fieldPath(containerPointer);
  const parent: unknown = errors[0].parentSchema;
  const known = isJsonObject(parent) && isJsonObject(parent.properties) ? Object.keys(parent.properties) : [];
  const knownList = known.length > 0 ? `, whose fields are ${known.join(', ')}` : '';
  return names.length === 1
    ? `${names[0]} is not a field of ${container}${knownList}`
    : `${joinWords(names)} are not fields of ${container}${knownList}`;
}

/** The schema's "x-limit": why a field is bounded where it is, in words. */
function limitReason(error: ErrorObject): string {
  const parent: unknown = error.parentSchema;
  const reason = isJsonObject(parent) ? parent['x-limit'] : undefined;
  return typeof reason === 'string' ? ` (${reason})` : '';
}

function describeLength(value: unknown): string {
  return typeof value === 'string' ? `is ${value.length} characters` : 'is too long';
}

function patternRule(error: ErrorObject): string | undefined {
  const parent: unknown = error.parentSchema;
  if (!isJsonObject(parent)) return undefined;
  const rule = parent['x-rule'];
  return typeof rule === 'string' ? rule : undefined;
}

function typeWords(type: unknown): string {
  const names = Array.isArray(type) ? type.map(String) : [String(type)];
  const words: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
    object: 'a JSON object',
    array: 'an array',
    null: 'null',
  };
  return names.map((name) => words[name] ?? name).join(' or ');
}

function formatWords(format: string): string {
  return format === 'date-time'
    ? 'a date and time in RFC 3339 form, such as 2026-11-26T15:00:00.000Z'
    : `in the format ${format}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** A short rendering of a value for a message: scalars as JSON (strings cut at 80 characters), else the kind. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}

export function quote(text: string): string {
  const limit = 80;
  return JSON.stringify(text.length > limit ? `${text.slice(0, limit)}…` : text);
}

function listValues(values: unknown): string {
  return Array.isArray(values) ? values.map(String).join(', ') : String(values);
}

function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

// ---------------------------------------------------------------------------------------------------------
// JSON Pointer → the path an administrator reads: subjectAlternativeNames[1].type

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentPointer(pointer: string): string {
  return pointer.slice(0, Math.max(0, pointer.lastIndexOf('/')));
}

function fieldPath(pointer: string, child?: string): string {
  const segments = pointerSegments(pointer);
  let path = '';
  for (const segment of segments) {
    path = /^\d+$/.test(segment) ? `${path}[${segment}]` : propertyAccess(path, segment);
  }
  return child === undefined ? path : propertyAccess(path, child);
}

function propertyAccess(path: string, name: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) return path === '' ? name : `${path}.${name}`;
  return `${path}[${JSON.stringify(name)}]`;
}
