/**
 * Log lines carry values from queue messages and CA answers (inside error messages). Escaped here: control
 * characters (a newline in a value forges a log line of its own), bidi controls (U+202A–U+202E, U+2066–U+2069,
 * U+200E/U+200F: text that reads differently from what it is) and zero-width characters.
 */
const UNSAFE = /[\p{Cc}\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/gu;

export function logSafe(text: string): string {
  return text.replace(
    UNSAFE,
    (character) => `<U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}
