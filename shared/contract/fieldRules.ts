/**
 * Rules on the text of names, e-mail addresses and UPNs that JSON Schema cannot state well: no control, bidi
 * or invisible characters, the X.520 upper bounds of distinguished-name values, RFC 5321's limits on an
 * address, NFC, and a domain that is ASCII or an internationalized name that does not mix look-alike scripts.
 * Each check returns a sentence naming the field, the rule and the fix, or undefined; values are never echoed
 * (they identify a person).
 */

/**
 * Upper bounds of distinguished-name attribute values, in characters: RFC 5280 Appendix A.1 (the X.520 bounds
 * ub-common-name, ub-organization-name, …; ub-emailaddress-length is 255 since RFC 5280, 128 before). Keys are
 * the attribute short names the subject parser uses.
 */
export const DN_VALUE_UPPER_BOUNDS: Readonly<Record<string, { limit: number; bound: string }>> = {
  CN: { limit: 64, bound: 'ub-common-name' },
  O: { limit: 64, bound: 'ub-organization-name' },
  OU: { limit: 64, bound: 'ub-organizational-unit-name' },
  L: { limit: 128, bound: 'ub-locality-name' },
  ST: { limit: 128, bound: 'ub-state-name' },
  E: { limit: 255, bound: 'ub-emailaddress-length' },
  SERIALNUMBER: { limit: 64, bound: 'ub-serial-number' },
  TITLE: { limit: 64, bound: 'ub-title' },
  C: { limit: 2, bound: 'ub-country-name-alpha-length' },
  PSEUDONYM: { limit: 128, bound: 'ub-pseudonym' },
};

/** RFC 5321 §4.5.3.1.1 (local part), §4.5.3.1.2 (domain), §4.5.3.1.3 (path of 256 less the angle brackets). */
export const MAIL_LOCAL_PART_MAX_OCTETS = 64;
export const MAIL_DOMAIN_MAX_OCTETS = 255;
export const MAIL_ADDRESS_MAX_OCTETS = 254;
/** RFC 1035 §2.3.4: a DNS label. */
const DOMAIN_LABEL_MAX_OCTETS = 63;

export interface UnsafeCharacter {
  /** UTF-16 index, from 0. */
  index: number;
  codePoint: number;
  kind: string;
}

/**
 * Characters no name, address or comment may hold: C0 and C1 controls (NUL included), bidirectional-text
 * controls (which reorder what a log reader or an administrator sees), zero-width and other invisible
 * characters (which make two different names look the same), line separators, noncharacters and unpaired
 * surrogates (neither is valid in XML nor in UTF-8).
 */
const UNSAFE_CLASSES: readonly { pattern: RegExp; kind: string }[] = [
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  { pattern: /[\u0000-\u001f\u007f-\u009f]/u, kind: 'the control character' },
  { pattern: /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u, kind: 'the bidirectional-text control' },
  { pattern: /[\u200b-\u200d\u2060\ufeff]/u, kind: 'the zero-width character' },
  { pattern: /[\u00ad\u2061-\u2064\u180e\ufff9-\ufffb]/u, kind: 'the invisible character' },
  { pattern: /[\u2028\u2029]/u, kind: 'the line or paragraph separator' },
  { pattern: /[\ufffe\uffff]/u, kind: 'the noncharacter' },
  { pattern: /\p{Cs}/u, kind: 'an unpaired surrogate' },
];
// eslint-disable-next-line security/detect-non-literal-regexp -- joined from the literal character classes above
const ANY_UNSAFE = new RegExp(UNSAFE_CLASSES.map(({ pattern }) => pattern.source).join('|'), 'u');
/** Free text (a revocation comment) may hold tabs and line breaks; names may not. */
const LINE_BREAKS = new Set([0x09, 0x0a, 0x0d]);

export function findUnsafeCharacter(text: string, allowLineBreaks = false): UnsafeCharacter | undefined {
  if (!ANY_UNSAFE.test(text)) return undefined;
  let index = 0;
  for (const character of text) {
    const codePoint = character.codePointAt(0) ?? 0;
    const unsafe = UNSAFE_CLASSES.find(({ pattern }) => pattern.test(character));
    if (unsafe !== undefined && !(allowLineBreaks && LINE_BREAKS.has(codePoint))) {
      return { index, codePoint, kind: unsafe.kind };
    }
    index += character.length;
  }
  return undefined;
}

export function codePointName(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `field` with its unsafe character named by code point and position, or undefined when it has none. */
export function describeUnsafeCharacter(
  field: string,
  text: string,
  allowLineBreaks = false,
): string | undefined {
  const found = findUnsafeCharacter(text, allowLineBreaks);
  if (found === undefined) return undefined;
  const name = found.kind.startsWith('an ') ? found.kind : `${found.kind} ${codePointName(found.codePoint)}`;
  return `${field} contains ${name} at character ${found.index + 1}: remove it (control, bidirectional-text and zero-width characters are refused: they hide or reorder what a reader sees)`;
}

/** Characters, not UTF-16 units: what X.520's SIZE bounds count. */
export function characterCount(text: string): number {
  return Array.from(text).length;
}

/** A DN attribute value longer than RFC 5280 allows, as a sentence; undefined when it fits or has no bound. */
export function describeDnValueTooLong(field: string, attribute: string, value: string): string | undefined {
  const upper = DN_VALUE_UPPER_BOUNDS[attribute];
  if (upper === undefined) return undefined;
  const length = characterCount(value);
  if (length <= upper.limit) return undefined;
  return `${field} is ${length} characters, but X.520 allows at most ${upper.limit} (${upper.bound}, RFC 5280 Appendix A): shorten the value the Intune profile puts there`;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Scripts with letters that look like Latin ones: a label mixing two of them is a look-alike. */
const LOOKALIKE_SCRIPTS: readonly { name: string; pattern: RegExp }[] = [
  { name: 'Latin', pattern: /\p{Script=Latin}/u },
  { name: 'Cyrillic', pattern: /\p{Script=Cyrillic}/u },
  { name: 'Greek', pattern: /\p{Script=Greek}/u },
  { name: 'Armenian', pattern: /\p{Script=Armenian}/u },
  { name: 'Cherokee', pattern: /\p{Script=Cherokee}/u },
];

function lookalikeScriptsOf(label: string): string[] {
  const found = new Set<string>();
  for (const character of label) {
    const script = LOOKALIKE_SCRIPTS.find(({ pattern }) => pattern.test(character));
    if (script !== undefined) found.add(script.name);
  }
  return [...found];
}

/** The A-label (xn--) form of a domain, by the WHATWG URL host parser (UTS #46), or undefined when invalid. */
function domainToAscii(domain: string): string | undefined {
  // Only letters, marks, digits, hyphens and dots reach the URL parser: it would read "/", "?", "%" as syntax.
  if (!/^[\p{L}\p{M}\p{N}.-]+$/u.test(domain)) return undefined;
  try {
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * An e-mail address or UPN (trimmed, with no unsafe character) that breaks a rule, as a sentence: NFC,
 * RFC 5321's octet limits, a DNS label of at most 63 octets, and a domain that is ASCII or a valid
 * internationalized domain name whose labels do not mix Latin with Cyrillic, Greek, … (look-alikes of
 * another domain are refused, not accepted silently). A value without `@` is left to the format check.
 */
export function describeMailAddressProblem(field: string, value: string, what: string): string | undefined {
  if (value.normalize('NFC') !== value) {
    return `${field} is not in Unicode normalization form C (NFC): send ${what} NFC-normalized (precomposed characters, as Entra ID stores them)`;
  }
  const octets = utf8Length(value);
  if (octets > MAIL_ADDRESS_MAX_OCTETS) {
    return `${field} is ${octets} octets of UTF-8, but ${what} is at most ${MAIL_ADDRESS_MAX_OCTETS} (RFC 5321 §4.5.3.1.3): shorten it`;
  }
  const at = value.lastIndexOf('@');
  if (at < 0) return undefined;
  const localOctets = utf8Length(value.slice(0, at));
  if (localOctets > MAIL_LOCAL_PART_MAX_OCTETS) {
    return `${field} has a local part (before the @) of ${localOctets} octets, but RFC 5321 §4.5.3.1.1 allows at most ${MAIL_LOCAL_PART_MAX_OCTETS}: shorten it`;
  }
  // MAIL_DOMAIN_MAX_OCTETS cannot be reached once the whole address is within 254 octets.
  const domain = value.slice(at + 1);
  const longLabel = domain.split('.').find((label) => utf8Length(label) > DOMAIN_LABEL_MAX_OCTETS);
  if (longLabel !== undefined) {
    return `${field} has a domain label of ${utf8Length(longLabel)} octets, but a DNS label is at most ${DOMAIN_LABEL_MAX_OCTETS} (RFC 1035 §2.3.4)`;
  }
  return describeDomainProblem(field, domain);
}

function describeDomainProblem(field: string, domain: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- the ASCII range itself, not control characters
  if (/^[\u0000-\u007f]*$/u.test(domain)) return undefined;
  const mixed = domain
    .split('.')
    .map(lookalikeScriptsOf)
    .find((scripts) => scripts.length > 1);
  if (mixed !== undefined) {
    return `${field} has a domain label that mixes ${mixed.join(' and ')} letters, which makes it a look-alike of another domain: write the domain in ASCII, or in its A-label (xn--…) form if it really is an internationalized domain name`;
  }
  const ascii = domainToAscii(domain);
  if (ascii === undefined) {
    return `${field} has a domain that is neither ASCII nor a valid internationalized domain name (IDNA, UTS #46): correct the domain`;
  }
  if (!ascii.split('.').some((label) => label.startsWith('xn--'))) {
    return `${field} has a domain written with characters that stand for the ASCII domain ${ascii} (full-width or other compatibility forms): send ${ascii}`;
  }
  return undefined;
}
