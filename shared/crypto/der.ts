/**
 * A small DER writer and reader. We build the CSR by hand (so an otherName value goes in byte for byte) and
 * read certificates and PKCS#7 tokens by offsets (so a certificate is sliced out unchanged, never re-encoded).
 * Only single-byte tags are supported: every structure we touch uses them.
 */

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** A malformed encoding. Callers turn it into the BrokerError that fits where the bytes came from. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

// ---------------------------------------------------------------------------------------------- writing

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function encodeTlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

export function derSequence(...items: Buffer[]): Buffer {
  return encodeTlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** SET OF: DER wants the members sorted by their encodings. */
export function derSet(...items: Buffer[]): Buffer {
  return encodeTlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

export function derSmallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 127)
    throw new RangeError(`unsupported INTEGER ${value}`);
  return encodeTlv(TAG.INTEGER, Buffer.from([value]));
}

export function derNull(): Buffer {
  return encodeTlv(TAG.NULL, Buffer.alloc(0));
}

/** BIT STRING of whole bytes (no unused bits). */
export function derBitString(content: Buffer): Buffer {
  return encodeTlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), content]));
}

export function derOctetString(content: Buffer): Buffer {
  return encodeTlv(TAG.OCTET_STRING, content);
}

export function derUtf8String(value: string): Buffer {
  return encodeTlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
}

export function derPrintableString(value: string): Buffer {
  if (!isPrintableString(value)) throw new RangeError('value is not a PrintableString');
  return encodeTlv(TAG.PRINTABLE_STRING, Buffer.from(value, 'latin1'));
}

export function derIa5String(value: string): Buffer {
  if (!isIa5String(value)) throw new RangeError('value is not an IA5String');
  return encodeTlv(TAG.IA5_STRING, Buffer.from(value, 'latin1'));
}

/** [n] EXPLICIT: a constructed context-specific wrapper around one complete element. */
export function derExplicit(tagNumber: number, inner: Buffer): Buffer {
  return encodeTlv(0xa0 | tagNumber, inner);
}

/** [n] IMPLICIT over a constructed type (SET, SEQUENCE): the content stays, the tag changes. */
export function derImplicitConstructed(tagNumber: number, content: Buffer): Buffer {
  return encodeTlv(0xa0 | tagNumber, content);
}

/**
 * GeneralName otherName: [0] IMPLICIT SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (RFC 5280 §4.2.1.6).
 * `valueDer` is one complete element, placed byte for byte inside the [0] EXPLICIT.
 */
export function derOtherName(typeId: string, valueDer: Buffer): Buffer {
  return derImplicitConstructed(0, Buffer.concat([derOid(typeId), derExplicit(0, valueDer)]));
}

/** [n] IMPLICIT over a primitive type (IA5String, OCTET STRING…). */
export function derImplicitPrimitive(tagNumber: number, content: Buffer): Buffer {
  return encodeTlv(0x80 | tagNumber, content);
}

const PRINTABLE_STRING_PATTERN = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

export function isPrintableString(value: string): boolean {
  return PRINTABLE_STRING_PATTERN.test(value);
}

export function isIa5String(value: string): boolean {
  for (let index = 0; index < value.length; index++) if (value.charCodeAt(index) > 0x7f) return false;
  return true;
}

const OID_PATTERN = /^[0-2](\.(0|[1-9][0-9]*))+$/;

export function isValidOid(dotted: string): boolean {
  if (!OID_PATTERN.test(dotted)) return false;
  const [first, second] = dotted.split('.').map((arc) => BigInt(arc));
  return first === 2n || (second !== undefined && second < 40n);
}

export function derOid(dotted: string): Buffer {
  if (!isValidOid(dotted)) throw new RangeError(`"${dotted}" is not a dotted-decimal OID`);
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  const [first, second, ...rest] = arcs as [bigint, bigint, ...bigint[]];
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let value = arc >> 7n; value > 0n; value >>= 7n) groups.unshift(Number(value & 0x7fn) | 0x80);
    bytes.push(...groups);
  }
  return encodeTlv(TAG.OID, Buffer.from(bytes));
}

// ---------------------------------------------------------------------------------------------- reading

export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number). */
  tag: number;
  constructed: boolean;
  /** Offset of the identifier octet. */
  start: number;
  contentStart: number;
  contentEnd: number;
  /** Offset just after the element (after the end-of-contents octets for an indefinite length). */
  end: number;
}

/** Reads the element at `offset`. Accepts BER indefinite lengths on constructed elements (some CAs send them). */
export function readElement(buffer: Buffer, offset = 0, depth = 0): DerElement {
  if (depth > 64) throw new DerError('nesting too deep');
  if (offset >= buffer.length) throw new DerError(`truncated: no element at offset ${offset}`);
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`multi-byte tag at offset ${offset} is not supported`);
  const constructed = (tag & 0x20) !== 0;
  if (offset + 1 >= buffer.length) throw new DerError(`truncated: no length at offset ${offset + 1}`);
  const firstLengthByte = buffer[offset + 1]!;
  let contentStart = offset + 2;

  if (firstLengthByte === 0x80) {
    if (!constructed) throw new DerError(`indefinite length on a primitive element at offset ${offset}`);
    let position = contentStart;
    for (;;) {
      if (position + 1 >= buffer.length) throw new DerError('truncated: missing end-of-contents');
      if (buffer[position] === 0 && buffer[position + 1] === 0) break;
      position = readElement(buffer, position, depth + 1).end;
    }
    return { tag, constructed, start: offset, contentStart, contentEnd: position, end: position + 2 };
  }

  let length = firstLengthByte;
  if (firstLengthByte > 0x80) {
    const lengthBytes = firstLengthByte & 0x7f;
    if (lengthBytes > 4)
      throw new DerError(`length of ${lengthBytes} bytes at offset ${offset} is too large`);
    if (contentStart + lengthBytes > buffer.length) throw new DerError('truncated length');
    length = 0;
    for (let index = 0; index < lengthBytes; index++) length = length * 256 + buffer[contentStart + index]!;
    contentStart += lengthBytes;
  }
  const contentEnd = contentStart + length;
  if (contentEnd > buffer.length) {
    throw new DerError(
      `truncated: element at offset ${offset} claims ${length} bytes, ${buffer.length - contentStart} remain`,
    );
  }
  return { tag, constructed, start: offset, contentStart, contentEnd, end: contentEnd };
}

/** Reads exactly one element that fills the whole buffer. */
export function readSingleElement(buffer: Buffer): DerElement {
  const element = readElement(buffer, 0);
  if (element.end !== buffer.length) {
    throw new DerError(`${buffer.length - element.end} unexpected bytes after the element`);
  }
  return element;
}

export function readChildren(buffer: Buffer, parent: DerElement): DerElement[] {
  if (!parent.constructed) throw new DerError(`element at offset ${parent.start} is not constructed`);
  const children: DerElement[] = [];
  for (let position = parent.contentStart; position < parent.contentEnd;) {
    const child = readElement(buffer, position);
    if (child.end > parent.contentEnd)
      throw new DerError(`element at offset ${position} overruns its parent`);
    children.push(child);
    position = child.end;
  }
  return children;
}

export function contentOf(buffer: Buffer, element: DerElement): Buffer {
  return buffer.subarray(element.contentStart, element.contentEnd);
}

export function bytesOf(buffer: Buffer, element: DerElement): Buffer {
  return buffer.subarray(element.start, element.end);
}

export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: bigint[] = [];
  let value = 0n;
  for (let index = 0; index < content.length; index++) {
    const byte = content[index]!;
    value = (value << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    } else if (index === content.length - 1) {
      throw new DerError('truncated OBJECT IDENTIFIER');
    }
  }
  const [combined, ...rest] = arcs as [bigint, ...bigint[]];
  const first = combined < 40n ? 0n : combined < 80n ? 1n : 2n;
  return [first, combined - first * 40n, ...rest].join('.');
}

export function expectTag(element: DerElement, tag: number, what: string): DerElement {
  if (element.tag !== tag) {
    throw new DerError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${element.tag.toString(16)}`);
  }
  return element;
}
