import { BrokerError } from '../contract/errors';
import {
  describeDnValueTooLong,
  describeMailAddressProblem,
  describeUnsafeCharacter,
} from '../contract/fieldRules';
import { looksLikeMailAddress } from './text';

/**
 * The subject name formats the seed allows ("Ondersteunde kenmerken"): a common name, a common name with an
 * e-mail address, or a common name that is itself an e-mail address.
 */
export type SubjectNameFormat = 'CN' | 'CN,E' | 'CN-as-email';

export interface ParsedSubjectName {
  commonName: string;
  /**
   * The subject's e-mail address: the E= value for `CN,E`, the common name for `CN-as-email`, absent for `CN`.
   * This is the "subject e-mail" the SAN fallbacks end with. Whether the request itself carried an E=
   * attribute is told by `format === 'CN,E'`.
   */
  email?: string;
  format: SubjectNameFormat;
}

const ALLOWED_FORMATS = 'CN=<name>, CN=<name>,E=<e-mail> (in either order), or CN=<e-mail>';
const OTHER_ATTRIBUTES_REMEDY =
  'Send the subject name in one of the formats ' +
  ALLOWED_FORMATS +
  ' (set "Subject name format" in the Intune PKCS profile accordingly). Any other subject attribute (O, OU, C, L, ST, …) must be a fixed value in the DigiCert certificate profile, not part of the request.';

/** Attribute keys we accept, upper-cased, with the OID spellings (`2.5.4.3`, `OID.2.5.4.3`) Windows may emit. */
const KEY_SYNONYMS: Record<string, 'CN' | 'E'> = {
  CN: 'CN',
  COMMONNAME: 'CN',
  '2.5.4.3': 'CN',
  E: 'E',
  EMAIL: 'E',
  EMAILADDRESS: 'E',
  '1.2.840.113549.1.9.1': 'E',
};

interface RawAttribute {
  key: string;
  value: string;
}

function mismatch(problem: string): BrokerError {
  return new BrokerError(
    'POLICY_MISMATCH',
    `subjectName ${problem}. Supported formats: ${ALLOWED_FORMATS}; other subject attributes must be fixed values in the DigiCert certificate profile.`,
    { remedy: OTHER_ATTRIBUTES_REMEDY },
  );
}

/** RFC 4514 characters that may follow a backslash as themselves. */
const ESCAPABLE = new Set([' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\']);
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/**
 * Splits an RFC 4514-style distinguished name into its attributes. Accepts `,` and `;` between RDNs (Windows
 * and RFC 2253 both), spaces around `=` and separators, backslash escapes (`\,` and `\C3\A9` UTF-8 pairs) and
 * double-quoted values. Multi-valued RDNs (`+`) and `#`-hex BER values are refused: Intune never sends them.
 */
function splitAttributes(subject: string): RawAttribute[] {
  const attributes: RawAttribute[] = [];
  let position = 0;
  const atEnd = (): boolean => position >= subject.length;
  const skipSpaces = (): void => {
    while (!atEnd() && /\s/u.test(subject[position] ?? '')) position++;
  };

  skipSpaces();
  if (atEnd()) throw mismatch('is empty');

  for (;;) {
    const keyStart = position;
    while (!atEnd() && subject[position] !== '=' && subject[position] !== ',' && subject[position] !== ';')
      position++;
    if (subject[position] !== '=') {
      throw mismatch(`has an attribute without "=" at character ${keyStart + 1}`);
    }
    const key = subject.slice(keyStart, position).trim();
    if (key === '') throw mismatch(`has an attribute with no name at character ${keyStart + 1}`);
    position++; // '='
    skipSpaces();

    const value = readValue();
    attributes.push({ key, value });

    skipSpaces();
    if (atEnd()) return attributes;
    const separator = subject[position];
    if (separator === '+') {
      throw mismatch(`has a multi-valued RDN ("+") at character ${position + 1}`);
    }
    if (separator !== ',' && separator !== ';') {
      throw mismatch(`has an unexpected character at character ${position + 1}`);
    }
    position++;
    skipSpaces();
    if (atEnd()) throw mismatch('ends with a separator');
  }

  function readValue(): string {
    if (subject[position] === '"') return readQuotedValue();
    if (subject[position] === '#') {
      throw mismatch(`has a hex-encoded (#…) attribute value at character ${position + 1}`);
    }
    const bytes: number[] = [];
    // Unescaped trailing spaces are not part of the value (RFC 4514 §3); escaped ones are.
    let significantLength = 0;
    while (!atEnd()) {
      const character = subject[position] ?? '';
      if (character === ',' || character === ';' || character === '+') break;
      if (character === '\\') {
        appendEscape(bytes);
        significantLength = bytes.length;
        continue;
      }
      appendText(bytes, character);
      if (!/\s/u.test(character)) significantLength = bytes.length;
      position++;
    }
    return decodeUtf8(bytes.slice(0, significantLength));
  }

  function readQuotedValue(): string {
    const opening = position;
    position++; // opening quote
    const bytes: number[] = [];
    while (!atEnd() && subject[position] !== '"') {
      if (subject[position] === '\\') {
        appendEscape(bytes);
        continue;
      }
      appendText(bytes, subject[position] ?? '');
      position++;
    }
    if (atEnd()) throw mismatch(`has an unterminated quoted value starting at character ${opening + 1}`);
    position++; // closing quote
    return decodeUtf8(bytes);
  }

  function appendEscape(bytes: number[]): void {
    const next = subject[position + 1];
    if (next === undefined) throw mismatch(`ends with a lone backslash at character ${position + 1}`);
    const pair = subject.slice(position + 1, position + 3);
    if (HEX_PAIR.test(pair)) {
      bytes.push(Number.parseInt(pair, 16));
      position += 3;
      return;
    }
    if (!ESCAPABLE.has(next)) {
      throw mismatch(`has an invalid escape "\\${next}" at character ${position + 1}`);
    }
    appendText(bytes, next);
    position += 2;
  }

  function appendText(bytes: number[], character: string): void {
    // Surrogate pairs are two UTF-16 units; encode the pair together, not each half.
    const code = character.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff && position + 1 < subject.length) {
      bytes.push(...Buffer.from(subject.slice(position, position + 2), 'utf8'));
      position++;
      return;
    }
    bytes.push(...Buffer.from(character, 'utf8'));
  }

  function decodeUtf8(bytes: number[]): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
    } catch {
      throw mismatch('has a \\XX escape sequence that is not valid UTF-8');
    }
  }
}

/**
 * Parses the request's subjectName into the one shape the broker supports. Keys are case-insensitive;
 * `EMAIL=` and `emailAddress=` are synonyms of `E=`. Anything else — another attribute, an empty or repeated
 * CN, a repeated E — is a POLICY_MISMATCH: the seed issues nothing when the Intune and DigiCert profiles
 * disagree, and extra attributes belong in the DigiCert profile as fixed values.
 */
/**
 * A value's own rules, checked on the value as decoded (escapes such as \00 or \E2\80\AE undone): no
 * control, bidi or invisible characters, and the RFC 5280 upper bound of its attribute.
 */
function checkValue(kind: 'CN' | 'E', key: string, value: string): void {
  const field = `subjectName ${key}=`;
  const sentence = describeUnsafeCharacter(field, value) ?? describeDnValueTooLong(field, kind, value);
  if (sentence !== undefined) throw invalidSubjectValue(sentence);
}

function invalidSubjectValue(sentence: string): BrokerError {
  return new BrokerError('INVALID_REQUEST', `${sentence}.`, {
    remedy:
      'Correct the subject name format of the Intune PKCS profile, or the directory attribute its variable takes the value from.',
  });
}

function checkMailAddress(key: string, value: string): void {
  const sentence = describeMailAddressProblem(`subjectName ${key}=`, value, 'an e-mail address');
  if (sentence !== undefined) throw invalidSubjectValue(sentence);
}

export function parseSubjectName(subject: string): ParsedSubjectName {
  let commonName: string | undefined;
  let email: string | undefined;
  let emailKey = 'E';

  for (const attribute of splitAttributes(subject)) {
    const normalisedKey = attribute.key.toUpperCase().replace(/^OID\./u, '');
    const kind = KEY_SYNONYMS[normalisedKey];
    if (kind === undefined)
      throw mismatch(`contains the attribute "${attribute.key}", which is not supported`);
    checkValue(kind, attribute.key, attribute.value);
    if (kind === 'CN') {
      if (commonName !== undefined) throw mismatch('contains CN more than once');
      if (attribute.value.trim() === '') throw mismatch('has an empty CN');
      commonName = attribute.value;
    } else {
      if (email !== undefined)
        throw mismatch(`contains an e-mail attribute (${attribute.key}) more than once`);
      if (attribute.value.trim() === '') throw mismatch(`has an empty ${attribute.key}`);
      email = attribute.value;
      emailKey = attribute.key;
    }
  }

  if (commonName === undefined) throw mismatch('has no CN');
  if (email !== undefined) {
    if (!looksLikeMailAddress(email)) {
      throw new BrokerError(
        'INVALID_REQUEST',
        'subjectName has an E= value that is not an e-mail address (expected local@domain).',
        { remedy: 'Send a subject e-mail address of the form local@domain, or leave E= out of subjectName.' },
      );
    }
    checkMailAddress(emailKey, email);
    return { commonName, email, format: 'CN,E' };
  }
  if (looksLikeMailAddress(commonName)) {
    checkMailAddress('CN', commonName);
    return { commonName, email: commonName, format: 'CN-as-email' };
  }
  return { commonName, format: 'CN' };
}
