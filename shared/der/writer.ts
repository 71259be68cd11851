/** A small DER writer: the CSR is built by hand so that an otherName value goes in byte for byte. */
import { TAG } from './tags';

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

// eslint-disable-next-line security/detect-unsafe-regex -- linear: every repeated arc starts with a literal dot
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
