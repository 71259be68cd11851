/**
 * What the body of a queue message decodes to: the Functions host hands over JSON text (a leading UTF-8 BOM
 * is tolerated), its UTF-8 bytes, or the already-parsed object.
 */

/** `text`: the JSON text the value was parsed from, when the body was text or bytes (not a parsed object). */
export type Decoded = { ok: true; value: unknown; text?: string } | { ok: false; reason: string };

/**
 * The largest message an Azure Storage queue holds: 64 KiB. host.json sets messageEncoding to none, so the
 * Functions host hands over the UTF-8 text as it was enqueued (a base64-encoded message would be at most
 * 48 KiB of JSON, and is not valid JSON here anyway).
 */
export const MESSAGE_MAX_BYTES = 64 * 1024;

export function decodeMessageBody(body: unknown): Decoded {
  if (typeof body === 'string') return parseJsonText(body);
  if (body instanceof Uint8Array) {
    return parseJsonText(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  }
  return { ok: true, value: body };
}

/** Bytes of the message as it travelled: the text or bytes, else the parsed object serialized again. */
export function messageSize(body: unknown): number | undefined {
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8');
  if (body instanceof Uint8Array) return body.byteLength;
  return serializedSize(body);
}

function parseJsonText(text: string): Decoded {
  const withoutBom = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(withoutBom) as unknown, text: withoutBom };
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

/**
 * How deeply `value` nests arrays and objects (a scalar is 0, `{}` is 1), counted without recursion and only
 * up to `limit + 1`: enough to tell a value that is too deep without walking all of it.
 */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const next = pending.pop() as { value: unknown; depth: number };
    if (next.value === null || typeof next.value !== 'object') continue;
    const depth = next.depth + 1;
    deepest = Math.max(deepest, depth);
    if (depth > limit) return deepest;
    for (const child of Object.values(next.value)) pending.push({ value: child, depth });
  }
  return deepest;
}
