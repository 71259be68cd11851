/**
 * Azure Table limits a string property to 32K UTF-16 code units (64 KiB) and an entity to 1 MiB, but a stored
 * result (a PFX inside JSON) can be larger than one property. A long text is therefore written as
 * `<name>Chunks` (the count) plus `<name>_0 … <name>_<n-1>`, and joined again on read.
 */

/** The service's limit for one string property, in UTF-16 code units (Azurite accepts 32768, refuses 32769). */
export const TABLE_STRING_MAX_CHARS = 32_768;
/** Below the limit, so a chunk never sits on the edge of it. */
export const DEFAULT_CHUNK_CHARS = 32_000;
/** The service's limit for a whole entity, in bytes as the service counts them. */
export const TABLE_ENTITY_MAX_BYTES = 1_048_576;

export type ChunkProperties = Record<string, string | number>;

/**
 * Splits `text` into pieces of at most `maxChars` UTF-16 code units, never between the two halves of a
 * surrogate pair (a lone surrogate is not valid text and may not survive the service's UTF-8 round trip).
 */
export function splitText(text: string, maxChars: number = DEFAULT_CHUNK_CHARS): string[] {
  if (!Number.isInteger(maxChars) || maxChars < 2 || maxChars > TABLE_STRING_MAX_CHARS) {
    throw new RangeError(
      `chunk size must be an integer from 2 to ${TABLE_STRING_MAX_CHARS}, got ${maxChars}`,
    );
  }
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + maxChars, text.length);
    if (
      end < text.length &&
      isHighSurrogate(text.charCodeAt(end - 1)) &&
      isLowSurrogate(text.charCodeAt(end))
    ) {
      end -= 1;
    }
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

export function chunkCountProperty(name: string): string {
  return `${name}Chunks`;
}

export function chunkProperty(name: string, index: number): string {
  return `${name}_${index}`;
}

/** The properties that store `text` under `name`: the count, then each chunk. An empty text has count 0. */
export function toChunkProperties(
  name: string,
  text: string,
  maxChars: number = DEFAULT_CHUNK_CHARS,
): ChunkProperties {
  const chunks = splitText(text, maxChars);
  const properties: ChunkProperties = { [chunkCountProperty(name)]: chunks.length };
  chunks.forEach((chunk, index) => {
    properties[chunkProperty(name, index)] = chunk;
  });
  return properties;
}

/**
 * The text stored under `name`, or undefined when the entity has none (no count property). A missing or
 * non-string chunk is an error: a partial text must never be taken for the whole.
 */
export function fromChunkProperties(
  entity: Readonly<Record<string, unknown>>,
  name: string,
): string | undefined {
  const countProperty = chunkCountProperty(name);
  const count = entity[countProperty];
  if (count === undefined || count === null) return undefined;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
    throw new Error(`property ${countProperty} must be a non-negative integer, got ${describe(count)}`);
  }
  const chunks: string[] = [];
  for (let index = 0; index < count; index++) {
    const property = chunkProperty(name, index);
    const chunk = entity[property];
    if (typeof chunk !== 'string') {
      throw new Error(`property ${property} (chunk ${index + 1} of ${count}) is missing or not a string`);
    }
    chunks.push(chunk);
  }
  return chunks.join('');
}

/**
 * The entity's size as the Table service counts it (4 bytes, the keys in UTF-16, and per property 8 bytes,
 * its name in UTF-16 and its value: strings 4 bytes + UTF-16, numbers 8, booleans 1). Integers are counted as
 * 8 bytes although small ones are stored as Int32: an upper bound is what a guard needs.
 */
export function estimateEntitySize(entity: Readonly<Record<string, unknown>>): number {
  let size = 4;
  for (const [name, value] of Object.entries(entity)) {
    if (name === 'partitionKey' || name === 'rowKey') {
      size += typeof value === 'string' ? value.length * 2 : 0;
      continue;
    }
    if (value === undefined || value === null) continue;
    size += 8 + name.length * 2;
    if (typeof value === 'string') size += 4 + value.length * 2;
    else if (typeof value === 'boolean') size += 1;
    else size += 8;
  }
  return size;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value);
}
