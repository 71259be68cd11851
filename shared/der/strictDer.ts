/**
 * A small strict DER walker, for values a request hands over (an otherName). node-forge's asn1.fromDer
 * accepts indefinite lengths, non-minimal lengths and trailing bytes, so it cannot tell us whether an
 * otherName value is well-formed DER; this can. It checks the framing of every TLV (tags, definite and
 * minimal lengths, constructed contents that are exactly a sequence of TLVs) and the DER rules of the
 * universal types whose encoding DER fixes (BOOLEAN, INTEGER, BIT STRING, NULL, OBJECT IDENTIFIER,
 * primitive-only strings, constructed-only SEQUENCE/SET). It does not check SET OF ordering or the contents
 * of time types.
 */
import { DerError } from './derError';

export type DerTagClass = 'universal' | 'application' | 'context' | 'private';

export interface DerNode {
  tagClass: DerTagClass;
  constructed: boolean;
  tagNumber: number;
  /** Offset of the identifier octet. */
  offset: number;
  headerLength: number;
  /** Length of the contents octets. */
  length: number;
  children?: DerNode[];
}

const TAG_CLASSES: DerTagClass[] = ['universal', 'application', 'context', 'private'];
const MAX_DEPTH = 64;
/** Contents longer than this would not fit any otherName a profile takes; also keeps numbers exact. */
const MAX_LENGTH_OCTETS = 4;

const UNIVERSAL_NAMES: Record<number, string> = {
  1: 'BOOLEAN',
  2: 'INTEGER',
  3: 'BIT STRING',
  4: 'OCTET STRING',
  5: 'NULL',
  6: 'OBJECT IDENTIFIER',
  10: 'ENUMERATED',
  12: 'UTF8String',
  16: 'SEQUENCE',
  17: 'SET',
  18: 'NumericString',
  19: 'PrintableString',
  20: 'TeletexString',
  21: 'VideotexString',
  22: 'IA5String',
  23: 'UTCTime',
  24: 'GeneralizedTime',
  25: 'GraphicString',
  26: 'VisibleString',
  27: 'GeneralString',
  28: 'UniversalString',
  30: 'BMPString',
};
/** Universal types DER requires to be primitive (X.690 §10.2: strings are never constructed in DER). */
const PRIMITIVE_ONLY = new Set([1, 2, 3, 4, 5, 6, 10, 12, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30]);
const CONSTRUCTED_ONLY = new Set([16, 17]);

/** Parses `bytes` as exactly one DER TLV; throws DerError naming the first problem and where it is. */
export function parseStrictDer(bytes: Uint8Array): DerNode {
  if (bytes.length === 0) throw new DerError('no bytes', 0);
  const node = parseNode(bytes, 0, bytes.length, 0);
  const end = node.offset + node.headerLength + node.length;
  if (end !== bytes.length) {
    throw new DerError(
      `trailing bytes: the TLV ends after ${end} byte(s) but ${bytes.length - end} more byte(s) follow`,
      end,
    );
  }
  return node;
}

function parseNode(bytes: Uint8Array, offset: number, limit: number, depth: number): DerNode {
  if (depth > MAX_DEPTH) throw new DerError(`nesting deeper than ${MAX_DEPTH} levels`, offset);
  let position = offset;
  const identifier = bytes[position] as number;
  position++;
  const tagClass = TAG_CLASSES[identifier >> 6] as DerTagClass;
  const constructed = (identifier & 0x20) !== 0;
  let tagNumber = identifier & 0x1f;

  if (tagNumber === 0x1f) {
    // High tag number form: base-128, no leading 0x80, and only for numbers that do not fit the low form.
    tagNumber = 0;
    let octets = 0;
    for (;;) {
      if (position >= limit) throw new DerError('truncated tag: the high tag number does not end', position);
      const octet = bytes[position] as number;
      if (octets === 0 && octet === 0x80)
        throw new DerError('non-minimal high tag number encoding', position);
      if (++octets > 4) throw new DerError('tag number too large', position);
      tagNumber = tagNumber * 128 + (octet & 0x7f);
      position++;
      if ((octet & 0x80) === 0) break;
    }
    if (tagNumber < 31) {
      throw new DerError(
        `tag number ${tagNumber} uses the high tag form where DER requires the low form`,
        offset,
      );
    }
  }

  if (position >= limit) throw new DerError('truncated: no length octet after the tag', position);
  const firstLengthOctet = bytes[position] as number;
  const lengthOffset = position;
  position++;
  let length: number;
  if (firstLengthOctet < 0x80) {
    length = firstLengthOctet;
  } else if (firstLengthOctet === 0x80) {
    throw new DerError('indefinite length (0x80), which DER does not allow', lengthOffset);
  } else if (firstLengthOctet === 0xff) {
    throw new DerError('reserved length octet 0xFF', lengthOffset);
  } else {
    const count = firstLengthOctet & 0x7f;
    if (count > MAX_LENGTH_OCTETS) throw new DerError(`length uses ${count} octets, too long`, lengthOffset);
    if (position + count > limit) {
      throw new DerError(
        `truncated: the long-form length announces ${count} octet(s) that are not there`,
        lengthOffset,
      );
    }
    if (bytes[position] === 0)
      throw new DerError('non-minimal length encoding (leading zero octet)', lengthOffset);
    length = 0;
    for (let index = 0; index < count; index++) length = length * 256 + (bytes[position + index] as number);
    position += count;
    if (length < 0x80) {
      throw new DerError(`non-minimal length encoding: ${length} must use the short form`, lengthOffset);
    }
  }

  const headerLength = position - offset;
  const available = limit - position;
  if (length > available) {
    throw new DerError(`length says ${length} byte(s) but ${available} present`, lengthOffset);
  }

  const node: DerNode = { tagClass, constructed, tagNumber, offset, headerLength, length };
  if (tagClass === 'universal') checkUniversal(bytes, node, position);

  if (constructed) {
    const children: DerNode[] = [];
    const end = position + length;
    let childOffset = position;
    while (childOffset < end) {
      const child = parseNode(bytes, childOffset, end, depth + 1);
      children.push(child);
      childOffset = child.offset + child.headerLength + child.length;
    }
    node.children = children;
  }
  return node;
}

function checkUniversal(bytes: Uint8Array, node: DerNode, contentsOffset: number): void {
  const { tagNumber, constructed, length } = node;
  const name = UNIVERSAL_NAMES[tagNumber] ?? `universal tag ${tagNumber}`;
  if (tagNumber === 0) throw new DerError('end-of-contents marker, which DER does not use', node.offset);
  if (constructed && PRIMITIVE_ONLY.has(tagNumber)) {
    throw new DerError(`${name} must be primitive in DER but is constructed`, node.offset);
  }
  if (!constructed && CONSTRUCTED_ONLY.has(tagNumber)) {
    throw new DerError(`${name} must be constructed but is primitive`, node.offset);
  }
  if (constructed) return;

  const contents = bytes.subarray(contentsOffset, contentsOffset + length);
  switch (tagNumber) {
    case 1:
      if (length !== 1 || (contents[0] !== 0x00 && contents[0] !== 0xff)) {
        throw new DerError('BOOLEAN must be one octet, 0x00 or 0xFF', node.offset);
      }
      return;
    case 2:
    case 10:
      if (length === 0) throw new DerError(`${name} has no contents`, node.offset);
      if (
        length > 1 &&
        ((contents[0] === 0x00 && ((contents[1] as number) & 0x80) === 0) ||
          (contents[0] === 0xff && ((contents[1] as number) & 0x80) !== 0))
      ) {
        throw new DerError(`${name} is not minimally encoded`, node.offset);
      }
      return;
    case 3: {
      if (length === 0) throw new DerError('BIT STRING has no unused-bits octet', node.offset);
      const unused = contents[0] as number;
      if (unused > 7 || (length === 1 && unused !== 0)) {
        throw new DerError(`BIT STRING has an invalid unused-bits count ${unused}`, node.offset);
      }
      if (unused > 0 && ((contents[length - 1] as number) & ((1 << unused) - 1)) !== 0) {
        throw new DerError('BIT STRING has non-zero unused bits', node.offset);
      }
      return;
    }
    case 5:
      if (length !== 0) throw new DerError('NULL must have no contents', node.offset);
      return;
    case 6:
      if (length === 0) throw new DerError('OBJECT IDENTIFIER has no contents', node.offset);
      if (((contents[length - 1] as number) & 0x80) !== 0) {
        throw new DerError('OBJECT IDENTIFIER ends inside a sub-identifier', node.offset);
      }
      for (let index = 0; index < length; index++) {
        const startsSubidentifier = index === 0 || ((contents[index - 1] as number) & 0x80) === 0;
        if (startsSubidentifier && contents[index] === 0x80) {
          throw new DerError('OBJECT IDENTIFIER has a non-minimal sub-identifier', node.offset);
        }
      }
      return;
    case 12:
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(contents);
      } catch {
        throw new DerError('UTF8String contents are not valid UTF-8', node.offset);
      }
      return;
    default:
      return;
  }
}
