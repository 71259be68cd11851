/**
 * Log lines name the request they are about, and their error messages often quote its values (validation
 * quotes the field, the CA echoes the name it refused). Whoever reads the logs must learn no more than
 * whoever reads telemetry: the request's personal values — e-mail addresses and UPNs, the subject's
 * CN/E/UID/name values, the SAN values, the SID — are replaced by the pseudonym telemetry uses, unless
 * TELEMETRY_INCLUDE_PERSONAL_DATA allows them. Results are not touched: the requester needs the value named.
 *
 * The values are read loosely from the message as it came (it may be invalid), and found in every spelling
 * a message may quote them in: as sent, JSON-escaped, XML-escaped (a CA's echo), cut at 80 characters (see
 * quote() in shared/contract/validationMessages.ts), any letter case. Anything else that looks like an
 * e-mail address or a SID (a CA's text about another value, a revocation's comment) is replaced as well.
 * Then logSafe escapes control, bidi and zero-width characters.
 */
import { logSafe } from './logText';
import { pseudonymize } from './pseudonym';

/** Turns the text of a log line into the line that may be logged. */
export type LogLine = (text: string) => string;

/** Subject attributes that name a person (RFC 4514 names, long names, dotted OIDs as Windows writes them). */
const PERSONAL_ATTRIBUTES = new Set([
  'CN',
  'COMMONNAME',
  '2.5.4.3',
  'E',
  'EMAIL',
  'EMAILADDRESS',
  '1.2.840.113549.1.9.1',
  'UID',
  'USERID',
  '0.9.2342.19200300.100.1.1',
  'GN',
  'GIVENNAME',
  '2.5.4.42',
  'SN',
  'SURNAME',
  '2.5.4.4',
]);

/** Shorter values are not looked for: too likely to be a word of the line itself. */
const MIN_LENGTH = 3;
/** quote() cuts a quoted value at this length. */
const QUOTE_LIMIT = 80;

/**
 * Text that looks like an e-mail address or UPN: no spaces, quotes, brackets or separators around the @.
 * Bounded (well past RFC 5321's 64 and 255), so that a long run of text without an @ costs linear time.
 */
const MAIL_LIKE =
  // eslint-disable-next-line security/detect-unsafe-regex -- bounded repeats, each label after a literal dot: linear (logRedaction.test.ts times a 60,000-character line)
  /[^\s@"'`<>()[\]{}\\,;:=]{1,256}@[\p{L}\p{M}\p{N}_-]{1,63}(?:\.[\p{L}\p{M}\p{N}_-]{1,63}){0,127}/gu;
/** A Windows security identifier (S-1-5-21-…). */
// eslint-disable-next-line security/detect-unsafe-regex -- bounded repeats, each starting with a literal hyphen: linear
const SID_LIKE = /(?<![\p{L}\p{N}-])S-1-\d{1,15}(?:-\d{1,15}){1,15}(?![\p{L}\p{N}])/giu;
/**
 * A log line is cut here (a queue message is at most 64 KiB, and a CA may echo all of it): a longer line says
 * nothing more, and the cut bounds the cost of looking for the values in it.
 */
export const MAX_LOG_LINE = 4000;

function objectOf(message: unknown): Record<string, unknown> | undefined {
  let value = message;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString()) as unknown;
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * The `key=value` parts of a distinguished name, read loosely in one pass (no regular expression: a long
 * subject must cost linear time): `,` `;` `+` separate outside double quotes and when not escaped.
 */
function distinguishedNameParts(subjectName: string): { key: string; written: string }[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < subjectName.length; index++) {
    const character = subjectName[index];
    if (character === '\\') index++;
    else if (character === '"') quoted = !quoted;
    else if (!quoted && (character === ',' || character === ';' || character === '+')) {
      parts.push(subjectName.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(subjectName.slice(start));
  return parts.flatMap((part) => {
    const equals = part.indexOf('=');
    return equals < 0 ? [] : [{ key: part.slice(0, equals), written: part.slice(equals + 1) }];
  });
}

/** The values of a subject name's personal attributes: as written and with quotes and escapes undone. */
function subjectValues(subjectName: string): string[] {
  const values = [subjectName];
  for (const { key: rawKey, written } of distinguishedNameParts(subjectName)) {
    const key = rawKey
      .trim()
      .toUpperCase()
      .replace(/^OID\./u, '');
    if (!PERSONAL_ATTRIBUTES.has(key)) continue;
    const value = written.trim();
    values.push(value);
    const unquoted = value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    values.push(unquoted.replace(/\\(.)/gu, '$1'));
  }
  return values;
}

/**
 * The personal values a request message carries (subjectName and its attribute values, every SAN value, the
 * SID), read from whatever the message is; none from a message that is no JSON object.
 */
export function personalValuesOf(message: unknown): string[] {
  const body = objectOf(message);
  if (body === undefined) return [];
  const values: string[] = [];
  if (typeof body.subjectName === 'string') values.push(...subjectValues(body.subjectName));
  if (Array.isArray(body.subjectAlternativeNames)) {
    for (const entry of body.subjectAlternativeNames as unknown[]) {
      const value = objectOf(entry)?.value;
      if (typeof value === 'string') values.push(value);
    }
  }
  if (typeof body.securityIdentifier === 'string') values.push(body.securityIdentifier);
  return values;
}

/** The spellings a message may quote `value` in. */
function spellingsOf(value: string): string[] {
  const cut = value.length > QUOTE_LIMIT ? [value.slice(0, QUOTE_LIMIT)] : [];
  return [value, ...cut].flatMap((text) => [
    text,
    JSON.stringify(text).slice(1, -1),
    text
      .replace(/&/gu, '&amp;')
      .replace(/</gu, '&lt;')
      .replace(/>/gu, '&gt;')
      .replace(/"/gu, '&quot;')
      .replace(/'/gu, '&apos;'),
  ]);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}

/**
 * The log line maker for one message: its personal values pseudonymized (unless `includePersonalData`),
 * then made safe by logSafe. `keep` are values never replaced (the requestId, which must stay findable).
 */
export function logLineFor(
  message: unknown,
  options: { includePersonalData: boolean; keep?: readonly (string | null | undefined)[] },
): LogLine {
  if (options.includePersonalData) return logSafe;
  const kept = new Set(
    (options.keep ?? []).filter((value): value is string => !!value).map((value) => value.toLowerCase()),
  );
  const pseudonyms = new Map<string, string>();
  for (const value of personalValuesOf(message)) {
    if (value.trim().length < MIN_LENGTH || kept.has(value.toLowerCase())) continue;
    for (const spelling of spellingsOf(value)) {
      // A spelling longer than a line cannot be in one; its first 80 characters (quote()'s cut) still are.
      if (spelling.length > MAX_LOG_LINE) continue;
      const key = spelling.toLowerCase();
      if (!pseudonyms.has(key)) pseudonyms.set(key, pseudonymize(value));
    }
  }
  // Longest first: the whole subject name before its CN, an address before its cut form.
  const alternatives = [...pseudonyms.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const exact =
    alternatives.length === 0
      ? undefined
      : // eslint-disable-next-line security/detect-non-literal-regexp -- alternatives are the request's own values, escaped
        new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}])`, 'giu');
  const hide = (found: string): string =>
    kept.has(found.toLowerCase()) ? found : (pseudonyms.get(found.toLowerCase()) ?? pseudonymize(found));
  return (whole) => {
    const text =
      whole.length > MAX_LOG_LINE
        ? `${whole.slice(0, MAX_LOG_LINE)}… (${whole.length - MAX_LOG_LINE} more characters)`
        : whole;
    const named = exact === undefined ? text : text.replace(exact, hide);
    return logSafe(named.replace(MAIL_LIKE, hide).replace(SID_LIKE, hide));
  };
}

/**
 * What a failed delivery throws for the host to log (it leaves the message on its queue): the error's words
 * as a log line, so the host's own record of the failure carries no more than the broker's lines.
 */
export function loggableFailure(error: Error, line: LogLine): Error {
  const failure = new Error(line(error.message));
  failure.name = error.name;
  return failure;
}
