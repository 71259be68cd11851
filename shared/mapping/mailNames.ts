import { looksLikeMailAddress, localPartOf, describeCharacter } from './text';

/**
 * A new DigiCert profile's default CN field asks for `mail_firstName` and `mail_lastName` instead of a common
 * name. The request has only a subject name, so both are derived from its CN.
 */
export interface MailNames {
  firstName: string;
  lastName: string;
}

/**
 * Derives first and last name from the common name: for an e-mail/UPN CN its local part is used; the value
 * is split on its last space ("Mary Ann Smith" → "Mary Ann" / "Smith"), else on its first period
 * ("john.smith" → "john" / "smith"); when neither splits it into two non-empty parts, both are the whole value.
 */
export function deriveMailNames(commonName: string): MailNames {
  const trimmed = commonName.trim();
  const base = looksLikeMailAddress(trimmed) ? localPartOf(trimmed) : trimmed;
  const split = splitAt(base, base.lastIndexOf(' ')) ?? splitAt(base, base.indexOf('.'));
  return split ?? { firstName: base, lastName: base };
}

function splitAt(value: string, index: number): MailNames | undefined {
  if (index < 0) return undefined;
  const firstName = value.slice(0, index).trim();
  const lastName = value.slice(index + 1).trim();
  if (firstName === '' || lastName === '') return undefined;
  return { firstName, lastName };
}

/**
 * What DigiCert accepts in mail_firstName/mail_lastName: letters of any script (accented letters included,
 * composed or with combining marks), digits, space, hyphen, apostrophe and period.
 */
const ACCEPTED_NAME_CHARACTER = /^[\p{L}\p{M}\p{Nd} \-'.]$/u;

export interface UnsupportedCharacter {
  /** The character, quoted, or its code point for invisible ones. */
  shown: string;
  /** 1-based position in the value, counted in characters (code points). */
  position: number;
}

/** The first character DigiCert would refuse in a name field, if any. */
export function findUnsupportedNameCharacter(value: string): UnsupportedCharacter | undefined {
  let position = 0;
  for (let index = 0; index < value.length;) {
    const codePoint = value.codePointAt(index) ?? 0;
    const character = String.fromCodePoint(codePoint);
    position++;
    if (!ACCEPTED_NAME_CHARACTER.test(character)) return { shown: describeCharacter(value, index), position };
    index += character.length;
  }
  return undefined;
}
