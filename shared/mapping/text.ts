/** Small text helpers shared by the mapping modules. */

/**
 * The one test the broker applies to values used as an e-mail address or UPN: `local@domain`. It is
 * deliberately loose (RFC 5322 allows far more than DigiCert will take, and UPN suffixes may be single-label);
 * its job is to catch a display name or a GUID sent where an address belongs, before the CA sees it.
 */
// eslint-disable-next-line security/detect-unsafe-regex -- linear: every repeated label starts with a literal dot
const MAIL_LIKE = /^[^\s@]+@[^\s@.]+(?:\.[^\s@.]+)*$/u;

export function looksLikeMailAddress(value: string): boolean {
  return MAIL_LIKE.test(value);
}

/** The part before the last `@` (the whole value when there is none). */
export function localPartOf(value: string): string {
  const at = value.lastIndexOf('@');
  return at < 0 ? value : value.slice(0, at);
}

/** Quotes a printable character; names control and invisible characters by code point. */
export function describeCharacter(text: string, index: number): string {
  const codePoint = text.codePointAt(index) ?? 0;
  const character = String.fromCodePoint(codePoint);
  if (/^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(character)) return `'${character}'`;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

// eslint-disable-next-line security/detect-unsafe-regex -- linear: every repeated arc starts with a literal dot
const DOTTED_OID = /^[0-2](?:\.(?:0|[1-9][0-9]*))+$/u;

/** Dotted-decimal object identifier, e.g. `1.3.6.1.4.1.311.25.1`. */
export function isDottedOid(value: string): boolean {
  return DOTTED_OID.test(value);
}
