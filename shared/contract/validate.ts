/**
 * Validation of the queue messages of contract v1 against the published JSON Schemas
 * (schemas/request.v1.schema.json, schemas/result.v1.schema.json), plus the rules JSON Schema cannot express
 * (context size, the CA allow-list, the range of a SID's numbers). Every refusal is a BrokerError whose message names the field by its JSON
 * path and says what is allowed, in words an administrator can act on.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { isCaHostAllowed } from './caHosts';
import { BrokerError, type ErrorCode } from './errors';
import type { PkcsRequest } from './types';
import requestSchema from './schemas/request.v1.schema.json';
import resultSchema from './schemas/result.v1.schema.json';

export const REQUEST_SCHEMA_ID: string = requestSchema.$id;
export const RESULT_SCHEMA_ID: string = resultSchema.$id;

/** Largest `context` accepted, in bytes of its UTF-8 JSON serialization. */
export const CONTEXT_MAX_BYTES = 4096;

/** How many problems one error message lists; the rest are counted. */
const MAX_PROBLEMS_LISTED = 3;

const REQUEST_ID_PATTERN = new RegExp(requestSchema.properties.requestId.pattern, 'u');
const CA_HOST_PATTERN = new RegExp(requestSchema.properties.certificateAuthority.pattern, 'u');
const OID_PATTERN = new RegExp(requestSchema.$defs.oid.pattern, 'u');
const SECURITY_IDENTIFIER_PATTERN = new RegExp(requestSchema.properties.securityIdentifier.pattern, 'u');

const EXAMPLE_CA_HOST = 'pki-ws.symauth.com';
const EXAMPLE_PROFILE_OID = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

/** One validator for every contract schema: the revocation result refers to the result schema by its $id. */
export const contractAjv = new Ajv2020({
  allErrors: true,
  strict: true,
  // failed results carry "requestId": string or null
  allowUnionTypes: true,
  // errors of a result name only the branch its status selects, not both oneOf branches
  discriminator: true,
  // gives each error its parentSchema, where "x-rule" describes a pattern in words
  verbose: true,
});
addFormats(contractAjv, ['date-time']);
contractAjv.addKeyword({ keyword: 'x-rule', schemaType: 'string' });

const validateRequestShape = contractAjv.compile<PkcsRequest>(requestSchema);
const validateResultShape = contractAjv.compile(resultSchema);

export interface RequestValidationOptions {
  /** CA_ALLOWED_HOSTS: `host` or `host:port` entries (settings.caAllowedHosts). */
  caAllowedHosts: readonly string[];
}

export type ResultValidation = { valid: true } | { valid: false; errors: string[] };

/**
 * The request of a queue message, validated. `body` is what the Functions host hands over: JSON text (a
 * leading UTF-8 BOM is tolerated), its UTF-8 bytes, or the already-parsed object.
 * @throws BrokerError with the most specific code when several rules are broken (see FIELD_RANKS).
 */
export function parseRequestMessage(body: unknown, options: RequestValidationOptions): PkcsRequest {
  return parseMessage(body, validateRequestShape, 'the request (schemaVersion 1)', options);
}

/**
 * A queue message of one of the contract's schemas, validated: the schema, then the rules it cannot state
 * (the CA allow-list, the size of context, a SID's numbers) and the message type's own (`moreRules`). Every
 * problem is a sentence naming the field; the error takes the code of the most specific one.
 */
export function parseMessage<T>(
  body: unknown,
  validateShape: ValidateFunction<T>,
  rootName: string,
  options: RequestValidationOptions,
  moreRules: (message: Record<string, unknown>) => Problem[] = () => [],
): T {
  const decoded = decodeMessageBody(body);
  if (!decoded.ok) {
    throw new BrokerError('INVALID_REQUEST', `the message is not valid JSON: ${decoded.reason}`);
  }
  const message = decoded.value;
  const shapeValid = validateShape(message);
  const problems = shapeValid
    ? []
    : describeRequestSchemaErrors(message, validateShape.errors ?? [], rootName);
  if (isJsonObject(message)) {
    problems.push(...checkRulesBeyondSchema(message, problems, options), ...moreRules(message));
  }
  if (shapeValid && problems.length === 0) return message;
  if (problems.length === 0) {
    // Cannot happen while every schema error is translated; kept so a gap never lets a message through.
    throw new BrokerError('INVALID_REQUEST', `the message does not follow the schema of ${rootName}`);
  }
  throw problemsToError(problems);
}

/** The value of `field` in a message that may not have validated, when it is a string matching `pattern`. */
export function readIdLoosely(body: unknown, field: string, pattern: RegExp): string | null {
  const decoded = decodeMessageBody(body);
  if (!decoded.ok || !isJsonObject(decoded.value)) return null;
  const id = decoded.value[field];
  return typeof id === 'string' && pattern.test(id) ? id : null;
}

/** Checks a message against a compiled schema, in sentences (results before they are published, tests). */
export function shapeCheck(
  validateShape: ValidateFunction,
  rootName: string,
  value: unknown,
): ResultValidation {
  if (validateShape(value)) return { valid: true };
  // The discriminator's complaint about status repeats what the status enum or required error says.
  const errors = (validateShape.errors ?? []).filter((error) => error.keyword !== 'discriminator');
  return { valid: false, errors: describeSchemaErrors(errors, rootName).map(({ sentence }) => sentence) };
}

/**
 * The requestId of a message that may not have validated, for its failed result: the id when the message is
 * JSON (or an object) with a requestId that follows the id rule, else null.
 */
export function readRequestIdLoosely(body: unknown): string | null {
  return readIdLoosely(body, 'requestId', REQUEST_ID_PATTERN);
}

/** The context of a message that may not have validated: a JSON object of at most 4 KB, else undefined. */
export function readContextLoosely(body: unknown): Record<string, unknown> | undefined {
  const decoded = decodeMessageBody(body);
  if (!decoded.ok || !isJsonObject(decoded.value)) return undefined;
  const context = decoded.value.context;
  if (!isJsonObject(context)) return undefined;
  const size = serializedSize(context);
  return size !== undefined && size <= CONTEXT_MAX_BYTES ? context : undefined;
}

/** Checks a result against result.v1.schema.json (tests, and the pipeline before it publishes a result). */
export function validateResult(result: unknown): ResultValidation {
  return shapeCheck(validateResultShape, 'the result (schemaVersion 1)', result);
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

function decodeMessageBody(body: unknown): Decoded {
  if (typeof body === 'string') return parseJsonText(body);
  if (body instanceof Uint8Array) {
    return parseJsonText(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  }
  return { ok: true, value: body };
}

function parseJsonText(text: string): Decoded {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(withoutBom) as unknown };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** What JSON Schema calls an object: not null, not an array (the same test ajv applies). */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Bytes of the UTF-8 JSON text of `value`, or undefined when it cannot be serialized (cycles, BigInt). */
function serializedSize(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Problems and their order

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

function problemsToError(problems: Problem[]): BrokerError {
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

function describeRequestSchemaErrors(
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
function describeSchemaErrors(
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

/** Rules JSON Schema cannot state: the CA allow-list, the size of context, the range of a SID's numbers. */
function checkRulesBeyondSchema(
  message: Record<string, unknown>,
  problemsSoFar: readonly Problem[],
  options: RequestValidationOptions,
): Problem[] {
  const problems: Problem[] = [];
  const authority = message.certificateAuthority;
  const authorityAlreadyRefused = problemsSoFar.some((problem) => problem.code === 'CA_NOT_ALLOWED');
  if (typeof authority === 'string' && !authorityAlreadyRefused && CA_HOST_PATTERN.test(authority)) {
    if (!isCaHostAllowed(authority, options.caAllowedHosts)) {
      const allowed =
        options.caAllowedHosts.length === 0
          ? 'CA_ALLOWED_HOSTS is empty'
          : `allowed: ${options.caAllowedHosts.join(', ')}`;
      problems.push({
        ...rankOfField('certificateAuthority'),
        sentence: `certificateAuthority ${quote(authority)} is not listed in CA_ALLOWED_HOSTS (${allowed})`,
      });
    }
  }
  const sid = message.securityIdentifier;
  if (typeof sid === 'string' && SECURITY_IDENTIFIER_PATTERN.test(sid)) {
    const sentence = describeSidOutOfRange(sid);
    if (sentence !== undefined) problems.push({ ...rankOfField('securityIdentifier'), sentence });
  }
  if (isJsonObject(message.context)) {
    const size = serializedSize(message.context);
    const sentence =
      size === undefined
        ? 'context cannot be serialized as JSON'
        : size > CONTEXT_MAX_BYTES
          ? `context is ${size} bytes when serialized as JSON, but at most ${CONTEXT_MAX_BYTES} bytes (4 KB) are allowed`
          : undefined;
    if (sentence !== undefined) problems.push({ ...rankOfField('context'), sentence });
  }
  return problems;
}

/** Largest identifier authority (48 bits) and sub-authority (32 bits) of a SID's binary form (MS-DTYP 2.4.2). */
const SID_AUTHORITY_MAX = 2n ** 48n - 1n;
const SID_SUB_AUTHORITY_MAX = 2n ** 32n - 1n;

/**
 * A SID in the right text form whose numbers cannot be a SID: a domain controller would never match it. The
 * SID itself is not echoed (it identifies a person, like the subject).
 */
function describeSidOutOfRange(sid: string): string | undefined {
  const [authority = '0', ...subAuthorities] = sid.slice('S-1-'.length).split('-');
  if (BigInt(authority) > SID_AUTHORITY_MAX) {
    return `securityIdentifier has an identifier authority (the number after S-1-) larger than a SID holds (at most ${SID_AUTHORITY_MAX})`;
  }
  const index = subAuthorities.findIndex((subAuthority) => BigInt(subAuthority) > SID_SUB_AUTHORITY_MAX);
  return index < 0
    ? undefined
    : `securityIdentifier has a sub-authority (number ${index + 1} after the identifier authority) larger than a SID holds (at most ${SID_SUB_AUTHORITY_MAX})`;
}

// ---------------------------------------------------------------------------------------------------------
// Sentences for the CA fields (values are echoed: they come from the Intune profile, not from a person)

function describeCertificateAuthorityShape(value: unknown, present: boolean): string {
  const expected = `a bare host name or host:port such as ${EXAMPLE_CA_HOST}`;
  if (!present) return `certificateAuthority is required: ${expected}, listed in CA_ALLOWED_HOSTS`;
  if (typeof value !== 'string')
    return `certificateAuthority must be a string (${expected}), not ${kindOf(value)}`;
  if (value === '') return `certificateAuthority must not be empty: ${expected}`;

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
      return `${subject} must be at most ${String(params.limit)} characters`;
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

function quote(text: string): string {
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
