/**
 * Validation of the revocation messages (schemas/revocation.v1.schema.json, revocation-result.v1.schema.json)
 * with the request's rules and wording (validate.ts), plus what only a revocation has: exactly one of
 * serialNumber and requestId, and certificateAuthority with a serial number.
 */
import { describeUnsafeCharacter } from './fieldRules';
import revocationSchema from './schemas/revocation.v1.schema.json';
import revocationResultSchema from './schemas/revocation-result.v1.schema.json';
import type { RevocationRequest } from './types';
import {
  contractAjv,
  parseMessage,
  readIdLoosely,
  shapeCheck,
  type RequestValidationOptions,
  type ResultValidation,
} from './validate';
import { OTHER_FIELDS, rankOfField, type Problem } from './validationMessages';

const validateRevocationShape = contractAjv.compile<RevocationRequest>(revocationSchema);
const validateRevocationResultShape = contractAjv.compile(revocationResultSchema);

export const REVOCATION_SCHEMA_ID: string = revocationSchema.$id;
export const REVOCATION_RESULT_SCHEMA_ID: string = revocationResultSchema.$id;
// eslint-disable-next-line security/detect-non-literal-regexp -- the pattern is a constant of our own JSON schema
const REVOCATION_ID_PATTERN = new RegExp(revocationSchema.properties.revocationId.pattern, 'u');

/**
 * The revocation request of a queue message, validated: the schema, exactly one of serialNumber and requestId,
 * certificateAuthority with a serial number (and allow-listed), context at most 4 KB.
 * @throws BrokerError naming the field (CA_NOT_ALLOWED for the CA host, else INVALID_REQUEST).
 */
export function parseRevocationMessage(body: unknown, options: RequestValidationOptions): RevocationRequest {
  return parseMessage(
    body,
    validateRevocationShape,
    'the revocation request (schemaVersion 1)',
    options,
    revocationRules,
  );
}

function revocationRules(message: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const bySerial = Object.hasOwn(message, 'serialNumber');
  const byRequest = Object.hasOwn(message, 'requestId');
  if (bySerial === byRequest) {
    problems.push({
      ...OTHER_FIELDS,
      sentence: bySerial
        ? 'serialNumber and requestId are both given: name the certificate by exactly one of them'
        : 'serialNumber or requestId is required: name the certificate to revoke by its serial number or by the requestId that issued it',
    });
  }
  const comment = typeof message.comment === 'string' ? message.comment : '';
  const unsafe = describeUnsafeCharacter('comment', comment, true);
  if (unsafe !== undefined) problems.push({ ...OTHER_FIELDS, sentence: unsafe });
  if (bySerial && !Object.hasOwn(message, 'certificateAuthority')) {
    problems.push({
      ...rankOfField('certificateAuthority'),
      sentence: 'certificateAuthority is required with serialNumber: the CA that issued the certificate',
    });
  }
  return problems;
}

/** The revocationId of a message that may not have validated (for its failed result), else null. */
export function readRevocationIdLoosely(body: unknown): string | null {
  return readIdLoosely(body, 'revocationId', REVOCATION_ID_PATTERN);
}

/** Checks a revocation result against revocation-result.v1.schema.json before it is published. */
export function validateRevocationResult(result: unknown): ResultValidation {
  return shapeCheck(validateRevocationResultShape, 'the revocation result (schemaVersion 1)', result);
}
