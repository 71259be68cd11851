/**
 * The request rules on text that reaches a certificate, a SOAP body or a log line (fieldRules.ts says why
 * each exists), and the message-level bounds: the queue's 64 KiB and one value per key.
 */
import { describeMailAddressProblem, describeUnsafeCharacter } from './fieldRules';
import { findDuplicateKey } from './jsonKeys';
import { MESSAGE_MAX_BYTES, isJsonObject, messageSize, type Decoded } from './messageBody';
import requestSchema from './schemas/request.v1.schema.json';
import { OTHER_FIELDS, type Problem } from './validationMessages';

const SAN_VALUE_MAX_LENGTH = requestSchema.$defs.subjectAlternativeName.properties.value.maxLength;
const SUBJECT_NAME_MAX_LENGTH = requestSchema.properties.subjectName.maxLength;

/** A message larger than a queue message can be, as a sentence (the message was not enqueued by a queue). */
export function describeOversizedMessage(body: unknown): string | undefined {
  const size = messageSize(body);
  if (size === undefined || size <= MESSAGE_MAX_BYTES) return undefined;
  return `the message is ${size} bytes, but a queue message holds at most ${MESSAGE_MAX_BYTES} bytes (64 KiB): shorten the fields that make it large (context is at most 4 KB, subjectName at most ${SUBJECT_NAME_MAX_LENGTH} characters)`;
}

/** A key given twice in one object, as a sentence: which copy counts would depend on the JSON parser. */
export function describeDuplicateKey(decoded: Decoded): string | undefined {
  if (!decoded.ok || decoded.text === undefined) return undefined;
  const duplicate = findDuplicateKey(decoded.text);
  if (duplicate === undefined) return undefined;
  return `the message has the key ${JSON.stringify(duplicate.key.slice(0, 80))} twice in one object (at character ${duplicate.index + 1}): send each field once, since JSON parsers disagree on which copy counts`;
}

/**
 * subjectName and the e-mail and UPN entries: no control, bidi or invisible characters; an e-mail address or
 * UPN also NFC, within RFC 5321's limits and with an ASCII or non-look-alike IDN domain. Values the schema
 * already refused for their length are not looked at again.
 */
export function checkNameFields(message: Record<string, unknown>): Problem[] {
  const sentences: (string | undefined)[] = [];
  const subject = message.subjectName;
  if (typeof subject === 'string' && subject.length <= SUBJECT_NAME_MAX_LENGTH) {
    sentences.push(describeUnsafeCharacter('subjectName', subject));
  }
  const names = message.subjectAlternativeNames;
  if (Array.isArray(names)) {
    names.forEach((entry: unknown, index) => {
      if (!isJsonObject(entry) || typeof entry.value !== 'string') return;
      if (entry.value.length > SAN_VALUE_MAX_LENGTH) return;
      const what =
        entry.type === 'AltNameTypeEmail'
          ? 'an e-mail address'
          : entry.type === 'AltNameTypeUpn'
            ? 'a UPN'
            : '';
      if (what === '') return;
      const field = `subjectAlternativeNames[${index}].value`;
      const value = entry.value.trim();
      sentences.push(
        describeUnsafeCharacter(field, entry.value) ?? describeMailAddressProblem(field, value, what),
      );
    });
  }
  return sentences
    .filter((sentence): sentence is string => sentence !== undefined)
    .map((sentence) => ({ ...OTHER_FIELDS, sentence }));
}
