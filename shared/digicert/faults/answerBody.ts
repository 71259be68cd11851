/**
 * What a CA answer that is not SOAP turned out to be (an HTML page, JSON, binary data, other XML), for
 * messages that say what came rather than only that it could not be read; and a short, printable excerpt of
 * it for caMessage — never raw bytes or control characters.
 */

const SNIPPET_LENGTH = 200;

// C0 and C1 controls (tab, LF and CR aside), and U+FFFD: what undecodable bytes become when read as UTF-8.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFD]/g;

function isBinary(text: string): boolean {
  const unprintable = text.match(UNPRINTABLE)?.length ?? 0;
  return text.includes('\u0000') || unprintable > Math.max(2, text.length / 100);
}

function headerText(value: string | string[] | undefined): string | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text === undefined || text === '' ? undefined : text;
}

/** `an HTML page (text/html; charset=utf-8, 160 bytes)`, `binary data (application/octet-stream, …)`, …. */
export function describeAnswerBody(contentTypeHeader: string | string[] | undefined, text: string): string {
  const contentType = headerText(contentTypeHeader) ?? 'no content type';
  const size = `${contentType}, ${Buffer.byteLength(text)} bytes`;
  const start = text.trimStart().slice(0, 512).toLowerCase();
  if (isBinary(text)) return `binary data (${size})`;
  if (/^<!doctype html|^<html[\s>]/.test(start) || /\bhtml\b/i.test(contentType))
    return `an HTML page (${size})`;
  if (/^[{[]/.test(start) || /\bjson\b/i.test(contentType)) return `JSON (${size})`;
  if (start.startsWith('<')) return `XML (${size})`;
  return `text (${size})`;
}

/** Up to 200 printable characters of an answer, markup and runs of white space collapsed. */
export function bodySnippet(text: string): string {
  if (isBinary(text)) return `${Buffer.byteLength(text)} bytes of binary data`;
  const collapsed = text
    .replace(/<[^>]*>/g, ' ')
    .replace(UNPRINTABLE, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return collapsed.length > SNIPPET_LENGTH ? `${collapsed.slice(0, SNIPPET_LENGTH)}…` : collapsed;
}
