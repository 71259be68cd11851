/**
 * What the body of a queue message decodes to: the Functions host hands over JSON text (a leading UTF-8 BOM
 * is tolerated), its UTF-8 bytes, or the already-parsed object.
 */

export type Decoded = { ok: true; value: unknown } | { ok: false; reason: string };

export function decodeMessageBody(body: unknown): Decoded {
  if (typeof body === 'string') return parseJsonText(body);
  if (body instanceof Uint8Array) {
    return parseJsonText(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  }
  return { ok: true, value: body };
}

function parseJsonText(text: string): Decoded {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(withoutBom) as unknown };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** What JSON Schema calls an object: not null, not an array (the same test ajv applies). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Bytes of the UTF-8 JSON text of `value`, or undefined when it cannot be serialized (cycles, BigInt). */
export function serializedSize(value: unknown): number | undefined {
  try {
    return Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch {
    return undefined;
  }
}
