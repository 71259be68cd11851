import forge from 'node-forge';
import { derFromHex, parseOtherNameHex, parseStrictDer } from '../../../shared/mapping';
import { SEED_OTHERNAME_BASE64, SEED_OTHERNAME_HEX, expectBrokerError } from './fixtures';

const FIELD = 'subjectAlternativeNames[2].value';

describe('parseOtherNameHex: accepted values', () => {
  const accepted: [string, string, string][] = [
    ['the seed example (OCTET STRING, spaces)', SEED_OTHERNAME_HEX, SEED_OTHERNAME_BASE64],
    ['colons between bytes', '04:02:ab:CD', 'BAKrzQ=='],
    ['no separators, upper case', '0402ABCD', 'BAKrzQ=='],
    ['mixed separators and runs of bytes', ' 0402 ab:cd ', 'BAKrzQ=='],
    ['UTF8String', '0c 03 61 62 63', 'DANhYmM='],
    ['NULL', '05 00', 'BQA='],
    [
      'nested constructed SEQUENCE { OID, [0] { OCTET STRING } }',
      '30 0b 06 03 2a 03 04 a0 04 04 02 01 02',
      'MAsGAyoDBKAEBAIBAg==',
    ],
    [
      'long-form length (129 bytes of contents)',
      `04 81 81 ${'00 '.repeat(129)}`,
      Buffer.from([0x04, 0x81, 0x81, ...new Array<number>(129).fill(0)]).toString('base64'),
    ],
    ['high tag number form', '9f 1f 01 00', 'nx8BAA=='],
    ['INTEGER with a needed leading zero', '02 02 00 80', 'AgIAgA=='],
  ];
  it.each(accepted)('%s', (_name, hex, base64) => {
    const value = parseOtherNameHex(hex, FIELD);
    expect(value.base64).toBe(base64);
    expect(value.der.toString('base64')).toBe(base64);
  });

  it('describes the seed example as an 18-byte OCTET STRING', () => {
    const { node, der } = parseOtherNameHex(SEED_OTHERNAME_HEX, FIELD);
    expect(node).toMatchObject({
      tagClass: 'universal',
      constructed: false,
      tagNumber: 4,
      length: 18,
      headerLength: 2,
    });
    expect(der.subarray(2).toString('hex')).toBe('b8ba6541f2d40741a9f74708f3e4285cef2c');
  });

  it('walks nested constructed values', () => {
    const node = parseStrictDer(derFromHex('30 0b 06 03 2a 03 04 a0 04 04 02 01 02', FIELD));
    expect(node.children?.map((child) => [child.tagClass, child.tagNumber, child.constructed])).toEqual([
      ['universal', 6, false],
      ['context', 0, true],
    ]);
    expect(node.children?.[1]?.children?.[0]).toMatchObject({ tagNumber: 4, length: 2 });
  });
});

describe('parseOtherNameHex: refused values → OTHERNAME_INVALID naming the field', () => {
  const refused: [string, string, string][] = [
    [
      'odd number of digits',
      '04 12 b8 b',
      'odd number of hex digits (1) in the group starting at character 10',
    ],
    ['a separator inside a byte', '0 402ab', 'group starting at character 1'],
    ['a non-hex character', '04 02 zz 00', "non-hex character 'z' at character 7"],
    ['a 0x prefix', '0x0402abcd', "non-hex character 'x' at character 2"],
    ['a control character', '04\u000702', 'U+0007 at character 3'],
    ['empty', ' : ', 'is empty'],
    ['truncated contents', '04 12 b8 ba', 'length says 18 byte(s) but 2 present'],
    ['truncated: no length', '04', 'no length octet'],
    ['truncated long-form length', '04 82 01', 'long-form length announces 2 octet(s)'],
    ['indefinite length', '24 80 04 01 00 00 00', 'indefinite length'],
    [
      'non-minimal length: long form for a short length',
      '04 81 02 ab cd',
      'non-minimal length encoding: 2 must use the short form',
    ],
    ['non-minimal length: leading zero octet', `04 82 00 81 ${'00 '.repeat(129)}`, 'leading zero octet'],
    ['reserved length octet', '04 ff', 'reserved length octet'],
    ['trailing bytes', '04 02 ab cd ef', 'trailing bytes'],
    ['two TLVs', '05 00 05 00', 'trailing bytes'],
    [
      'nested constructed with a child overrunning it',
      '30 04 04 05 00 00 00 00',
      'length says 5 byte(s) but 2 present',
    ],
    ['nested constructed with a truncated child header', '30 01 04', 'no length octet'],
    ['constructed OCTET STRING (BER only)', '24 04 04 02 ab cd', 'OCTET STRING must be primitive'],
    ['primitive SEQUENCE', '10 00', 'SEQUENCE must be constructed'],
    ['BOOLEAN not 00/FF', '01 01 01', 'BOOLEAN'],
    ['non-minimal INTEGER', '02 02 00 7f', 'INTEGER is not minimally encoded'],
    ['NULL with contents', '05 01 00', 'NULL must have no contents'],
    ['OBJECT IDENTIFIER cut inside a sub-identifier', '06 02 2a 86', 'ends inside a sub-identifier'],
    ['UTF8String with invalid UTF-8', '0c 02 c3 28', 'not valid UTF-8'],
    ['high tag form for a low tag number', '1f 04 00', 'high tag form'],
    ['end-of-contents marker', '00 00', 'end-of-contents'],
  ];
  it.each(refused)('%s', (_name, hex, problem) => {
    expectBrokerError(() => parseOtherNameHex(hex, FIELD), {
      code: 'OTHERNAME_INVALID',
      message: [FIELD, problem],
    });
  });

  it('is stricter than node-forge, which accepts what DER forbids', () => {
    // forge reads indefinite lengths, long-form short lengths, padded INTEGERs and BOOLEAN 0x01; we refuse them.
    for (const hex of ['24 80 04 01 00 00 00', '04 81 02 ab cd', '02 02 00 7f', '01 01 01']) {
      const bytes = derFromHex(hex, FIELD);
      expect(() => forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')))).not.toThrow();
      expectBrokerError(() => parseOtherNameHex(hex, FIELD), { code: 'OTHERNAME_INVALID', message: [FIELD] });
    }
  });

  it('agrees with node-forge on a well-formed value', () => {
    const { der } = parseOtherNameHex('30 0b 06 03 2a 03 04 a0 04 04 02 01 02', FIELD);
    const parsed = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
    expect(Buffer.from(forge.asn1.toDer(parsed).getBytes(), 'binary').equals(der)).toBe(true);
  });
});
