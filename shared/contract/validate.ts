/**
 * Validation of the queue messages of contract v1 against the published JSON Schemas
 * (schemas/request.v1.schema.json, schemas/result.v1.schema.json), plus the rules JSON Schema cannot express
 * (context size, the CA allow-list, the range of a SID's numbers). Every refusal is a BrokerError naming the
 * field; its sentences are written in validationMessages.ts.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { isCaHostAllowed } from './caHosts';
import { BrokerError } from './errors';
import { decodeMessageBody, isJsonObject, nestingDepth, serializedSize } from './messageBody';
import { checkNameFields, describeDuplicateKey, describeOversizedMessage } from './textFieldRules';
import type { PkcsRequest } from './types';
import requestSchema from './schemas/request.v1.schema.json';
import resultSchema from './schemas/result.v1.schema.json';
import {
  CA_HOST_PATTERN,
  describeRequestSchemaErrors,
  describeSchemaErrors,
  problemsToError,
  quote,
  rankOfField,
  type Problem,
} from './validationMessages';

export const REQUEST_SCHEMA_ID: string = requestSchema.$id;
export const RESULT_SCHEMA_ID: string = resultSchema.$id;

/** Largest `context` accepted, in bytes of its UTF-8 JSON serialization. */
export const CONTEXT_MAX_BYTES = 4096;
/**
 * Deepest `context` accepted, counting the object itself as 1. The result nests it one level down, and the
 * delivery system's JSON parser may stop at 64 levels (System.Text.Json's default): a result it cannot read
 * would never be delivered.
 */
export const CONTEXT_MAX_DEPTH = 32;

// eslint-disable-next-line security/detect-non-literal-regexp -- the pattern is a constant of our own JSON schema
const REQUEST_ID_PATTERN = new RegExp(requestSchema.properties.requestId.pattern, 'u');
// eslint-disable-next-line security/detect-non-literal-regexp -- the pattern is a constant of our own JSON schema
const SECURITY_IDENTIFIER_PATTERN = new RegExp(requestSchema.properties.securityIdentifier.pattern, 'u');

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
contractAjv.addKeyword({ keyword: 'x-limit', schemaType: 'string' });

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
  const oversized = describeOversizedMessage(body);
  if (oversized !== undefined) throw new BrokerError('INVALID_REQUEST', oversized);
  const decoded = decodeMessageBody(body);
  if (!decoded.ok) {
    throw new BrokerError('INVALID_REQUEST', `the message is not valid JSON: ${decoded.reason}`);
  }
  const duplicate = describeDuplicateKey(decoded);
  if (duplicate !== undefined) throw new BrokerError('INVALID_REQUEST', duplicate);
  const message = decoded.value;
  const shapeValid = validateShape(message);
  const problems = shapeValid
    ? []
    : describeRequestSchemaErrors(message, validateShape.errors ?? [], rootName);
  if (isJsonObject(message)) {
    problems.push(
      ...checkRulesBeyondSchema(message, problems, options),
      ...checkNameFields(message),
      ...moreRules(message),
    );
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

/** The context of a message that may not have validated: a JSON object within the bounds, else undefined. */
export function readContextLoosely(body: unknown): Record<string, unknown> | undefined {
  const decoded = decodeMessageBody(body);
  if (!decoded.ok || !isJsonObject(decoded.value)) return undefined;
  const context = decoded.value.context;
  if (!isJsonObject(context)) return undefined;
  if (nestingDepth(context, CONTEXT_MAX_DEPTH) > CONTEXT_MAX_DEPTH) return undefined;
  const size = serializedSize(context);
  return size !== undefined && size <= CONTEXT_MAX_BYTES ? context : undefined;
}

/** Checks a result against result.v1.schema.json (tests, and the pipeline before it publishes a result). */
export function validateResult(result: unknown): ResultValidation {
  return shapeCheck(validateResultShape, 'the result (schemaVersion 1)', result);
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
      nestingDepth(message.context, CONTEXT_MAX_DEPTH) > CONTEXT_MAX_DEPTH
        ? `context is nested more than ${CONTEXT_MAX_DEPTH} levels deep: flatten it (the result must stay readable by JSON parsers that stop at 64 levels)`
        : size === undefined
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
