import {
  DerError,
  decodeOid,
  derOid,
  derSequence,
  derSet,
  derUtf8String,
  encodeTlv,
  isValidOid,
  readChildren,
  readElement,
  readSingleElement,
  parseStrictDer,
} from '../../../shared/der';

describe('DER writer', () => {
  it('encodes OIDs as OpenSSL does, including large arcs', () => {
    expect(derOid('1.2.840.113549.1.1.11').toString('hex')).toBe('06092a864886f70d01010b');
    expect(derOid('1.3.6.1.4.1.311.20.2.3').toString('hex')).toBe('060a2b060104018237140203');
    const uuidArc = '2.25.329800735698586629295641978511506172918';
    expect(decodeOid(derOid(uuidArc).subarray(2))).toBe(uuidArc);
    expect(decodeOid(derOid('2.999.3').subarray(2))).toBe('2.999.3');
  });

  it('accepts only dotted-decimal OIDs', () => {
    for (const good of ['1.2', '0.9.2342.19200300.100.1.25', '2.100.3']) expect(isValidOid(good)).toBe(true);
    for (const bad of ['1', '3.1', '1.40', '1.2.', '01.2', '1..2', 'a.b', ''])
      expect(isValidOid(bad)).toBe(false);
    expect(() => derOid('1.40')).toThrow(RangeError);
  });

  it('uses the long length form above 127 bytes', () => {
    expect(encodeTlv(0x04, Buffer.alloc(200)).subarray(0, 3).toString('hex')).toBe('0481c8');
    expect(encodeTlv(0x04, Buffer.alloc(300)).subarray(0, 4).toString('hex')).toBe('0482012c');
  });

  it('sorts SET OF members by their encoding', () => {
    const b = derUtf8String('b');
    const a = derUtf8String('a');
    expect(derSet(b, a).equals(Buffer.concat([Buffer.from([0x31, 6]), a, b]))).toBe(true);
  });
});

describe('DER reader', () => {
  it('reads nested definite and BER indefinite lengths', () => {
    const inner = derSequence(derUtf8String('x'), derUtf8String('yz'));
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), inner, Buffer.from([0, 0])]);
    const outer = readSingleElement(indefinite);
    expect(outer.end).toBe(indefinite.length);
    const [child] = readChildren(indefinite, outer);
    expect(readChildren(indefinite, child!).map((c) => c.end - c.start)).toEqual([3, 4]);
  });

  it('rejects truncated input, overruns and trailing bytes', () => {
    const good = derSequence(derUtf8String('abc'));
    expect(() => readElement(good.subarray(0, good.length - 1))).toThrow(DerError);
    expect(() => readSingleElement(Buffer.concat([good, Buffer.from([0])]))).toThrow(/unexpected bytes/);
    expect(() => readElement(Buffer.from([0x30, 0x80, 0x04, 0x00]))).toThrow(/end-of-contents/);
    expect(() => readElement(Buffer.from([0x04, 0x80, 0x00, 0x00]))).toThrow(/primitive/);
    const overrun = Buffer.from([0x30, 0x03, 0x04, 0x05, 0x00]);
    expect(() => readChildren(overrun, readElement(overrun))).toThrow(DerError);
    expect(() => readElement(Buffer.alloc(0))).toThrow(DerError);
  });
});

describe('DerError', () => {
  it('is the one error of both readers; the strict one names the byte offset', () => {
    let lenient: unknown;
    let strict: unknown;
    try {
      readElement(Buffer.alloc(0));
    } catch (error) {
      lenient = error;
    }
    try {
      parseStrictDer(Buffer.from([0x30, 0x80, 0x00, 0x00]));
    } catch (error) {
      strict = error;
    }
    expect(lenient).toBeInstanceOf(DerError);
    expect((lenient as DerError).message).toBe('truncated: no element at offset 0');
    expect((lenient as DerError).offset).toBeUndefined();
    expect(strict).toBeInstanceOf(DerError);
    expect((strict as DerError).message).toBe(
      'indefinite length (0x80), which DER does not allow (at byte offset 1)',
    );
    expect((strict as DerError).offset).toBe(1);
  });
});
