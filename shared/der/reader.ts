/**
 * A small, lenient reader of certificates and PKCS#7 tokens by offsets, so a certificate is sliced out
 * unchanged, never re-encoded. It accepts BER indefinite lengths on constructed elements (some CAs send
 * them); strictDer.ts is the reader that insists on DER. Only single-byte tags are supported: every
 * structure read here uses them.
 */
import { DerError } from './derError';

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
