import {
  derOid,
  derSequence,
  derSet,
  derUtf8String,
  encodeTlv,
  readSingleElement,
} from '../../../shared/der';
import { encodeName, formatName } from '../../../shared/crypto/distinguishedName';

describe('distinguished names', () => {
  it('prints most specific RDN first with RFC 4514 escaping and E for emailAddress', () => {
    const name = encodeName([
      { shortName: 'C', value: 'nl' },
      { shortName: 'O', value: 'Contoso, Ltd' },
      { shortName: 'CN', value: ' Jörg #1 ' },
      { shortName: 'E', value: 'jorg@contoso.com' },
    ]);
    expect(formatName(name, readSingleElement(name))).toBe(
      'E=jorg@contoso.com, CN=\\ Jörg #1\\ , O=Contoso\\, Ltd, C=NL',
    );
  });

  it('decodes BMPString and UniversalString values and prints unknown types by OID and #hex', () => {
    const attribute = (oid: string, value: Buffer) => derSet(derSequence(derOid(oid), value));
    const name = derSequence(
      attribute('2.5.4.3', encodeTlv(0x1e, Buffer.from('00e9006c00e8', 'hex'))),
      attribute('2.5.4.10', encodeTlv(0x1c, Buffer.from('0001f600', 'hex'))),
      attribute('1.2.3.4', encodeTlv(0x04, Buffer.from('beef', 'hex'))),
    );
    expect(formatName(name, readSingleElement(name))).toBe('1.2.3.4=#0402beef, O=😀, CN=élè');
  });

  it('prints a multi-valued RDN joined with +', () => {
    const pair = derSet(
      derSequence(derOid('2.5.4.3'), derUtf8String('a')),
      derSequence(derOid('2.5.4.11'), derUtf8String('b')),
    );
    const name = derSequence(pair);
    expect(formatName(name, readSingleElement(name))).toBe('CN=a + OU=b');
  });
});
