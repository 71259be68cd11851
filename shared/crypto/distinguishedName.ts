/**
 * X.500 names: encoding the CSR subject from short names, and printing a certificate's subject/issuer.
 *
 * Printed form: RFC 4514 escaping, ", " between RDNs, most specific RDN first (the reverse of the DER order,
 * which is also how Windows shows a subject: "CN=…, E=…, OU=…, O=…, C=…"). emailAddress prints as `E`, the
 * way Windows and the Intune profile spell it.
 */
import { BrokerError } from '../contract/errors';
import {
  DerError,
  TAG,
  bytesOf,
  contentOf,
  decodeOid,
  derIa5String,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derUtf8String,
  expectTag,
  isIa5String,
  isPrintableString,
  isValidOid,
  readChildren,
  type DerElement,
} from '../der';

type StringEncoding = 'directory' | 'printable' | 'ia5' | 'country';

interface NameAttributeType {
  oid: string;
  /** How the attribute prints. */
  shortName: string;
  /** Upper-case spellings accepted in a CSR subject (the short name included). */
  spellings: string[];
  encoding: StringEncoding;
}

const NAME_ATTRIBUTE_TYPES: NameAttributeType[] = [
  { oid: '2.5.4.3', shortName: 'CN', spellings: ['CN', 'COMMONNAME'], encoding: 'directory' },
  {
    oid: '1.2.840.113549.1.9.1',
    shortName: 'E',
    spellings: ['E', 'EMAIL', 'EMAILADDRESS'],
    encoding: 'ia5',
  },
  { oid: '2.5.4.10', shortName: 'O', spellings: ['O', 'ORGANIZATIONNAME'], encoding: 'directory' },
  {
    oid: '2.5.4.11',
    shortName: 'OU',
    spellings: ['OU', 'ORGANIZATIONALUNITNAME'],
    encoding: 'directory',
  },
  { oid: '2.5.4.6', shortName: 'C', spellings: ['C', 'COUNTRYNAME'], encoding: 'country' },
  { oid: '2.5.4.7', shortName: 'L', spellings: ['L', 'LOCALITYNAME'], encoding: 'directory' },
  { oid: '2.5.4.8', shortName: 'ST', spellings: ['ST', 'S', 'STATEORPROVINCENAME'], encoding: 'directory' },
  { oid: '2.5.4.9', shortName: 'STREET', spellings: ['STREET', 'STREETADDRESS'], encoding: 'directory' },
  { oid: '2.5.4.4', shortName: 'SN', spellings: ['SN', 'SURNAME'], encoding: 'directory' },
  { oid: '2.5.4.42', shortName: 'G', spellings: ['G', 'GN', 'GIVENNAME'], encoding: 'directory' },
  { oid: '2.5.4.12', shortName: 'T', spellings: ['T', 'TITLE'], encoding: 'directory' },
  { oid: '2.5.4.5', shortName: 'SERIALNUMBER', spellings: ['SERIALNUMBER'], encoding: 'printable' },
  { oid: '0.9.2342.19200300.100.1.25', shortName: 'DC', spellings: ['DC'], encoding: 'ia5' },
  { oid: '0.9.2342.19200300.100.1.1', shortName: 'UID', spellings: ['UID', 'USERID'], encoding: 'directory' },
];

const TYPES_BY_SPELLING = new Map(
  NAME_ATTRIBUTE_TYPES.flatMap((type) => type.spellings.map((spelling) => [spelling, type] as const)),
);
const TYPES_BY_OID = new Map(NAME_ATTRIBUTE_TYPES.map((type) => [type.oid, type]));

/** Resolves a CSR subject short name (case-insensitive), or a dotted OID (optionally written `OID.1.2.3`). */
function resolveAttributeType(shortName: string): NameAttributeType | undefined {
  const spelling = shortName.trim().toUpperCase();
  const known = TYPES_BY_SPELLING.get(spelling);
  if (known) return known;
  const dotted = spelling.startsWith('OID.') ? spelling.slice(4) : spelling;
  if (!isValidOid(dotted)) return undefined;
  return TYPES_BY_OID.get(dotted) ?? { oid: dotted, shortName: dotted, spellings: [], encoding: 'directory' };
}

function encodeAttributeValue(type: NameAttributeType, shortName: string, value: string): Buffer {
  switch (type.encoding) {
    case 'directory':
      // PrintableString where the value allows it (the most widely accepted choice), UTF8String otherwise.
      return isPrintableString(value) ? derPrintableString(value) : derUtf8String(value);
    case 'printable':
      if (!isPrintableString(value)) {
        throw new BrokerError(
          'POLICY_MISMATCH',
          `CSR subject attribute ${shortName}: "${value}" holds characters a PrintableString cannot carry (letters, digits and ' ( ) + , - . / : = ? and space only).`,
        );
      }
      return derPrintableString(value);
    case 'country':
      if (!/^[A-Za-z]{2}$/.test(value)) {
        throw new BrokerError(
          'POLICY_MISMATCH',
          `CSR subject attribute ${shortName}: "${value}" is not a two-letter ISO 3166 country code.`,
        );
      }
      return derPrintableString(value.toUpperCase());
    case 'ia5':
      if (!isIa5String(value)) {
        throw new BrokerError(
          'INVALID_REQUEST',
          `subjectName: the CSR subject attribute ${shortName} ("${value}") must be ASCII: an IA5String cannot carry other characters.`,
        );
      }
      return derIa5String(value);
  }
}

/** DER of a Name with one attribute per RDN, in the given order (the first entry is the first RDN). */
export function encodeName(attributes: readonly { shortName: string; value: string }[]): Buffer {
  const rdns = attributes.map(({ shortName, value }) => {
    const type = resolveAttributeType(shortName);
    if (type === undefined) {
      throw new BrokerError(
        'POLICY_MISMATCH',
        `CSR subject attribute "${shortName}" is not supported (known: ${NAME_ATTRIBUTE_TYPES.map((t) => t.shortName).join(', ')}, or a dotted OID).`,
      );
    }
    if (value.length === 0) {
      throw new BrokerError('POLICY_MISMATCH', `CSR subject attribute ${shortName} has an empty value.`);
    }
    return derSet(derSequence(derOid(type.oid), encodeAttributeValue(type, shortName, value)));
  });
  return derSequence(...rdns);
}

// ---------------------------------------------------------------------------------------------- printing

/** Decodes an ASN.1 string; undefined for a non-string type. */
export function decodeDirectoryString(buffer: Buffer, element: DerElement): string | undefined {
  const content = contentOf(buffer, element);
  switch (element.tag) {
    case TAG.UTF8_STRING:
      return content.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.VISIBLE_STRING:
    case TAG.TELETEX_STRING:
      return content.toString('latin1');
    case TAG.BMP_STRING: {
      if (content.length % 2 !== 0) throw new DerError('BMPString of odd length');
      const littleEndian = Buffer.from(content);
      littleEndian.swap16();
      return littleEndian.toString('utf16le');
    }
    case TAG.UNIVERSAL_STRING: {
      if (content.length % 4 !== 0) throw new DerError('UniversalString length is not a multiple of 4');
      const codePoints: number[] = [];
      for (let index = 0; index < content.length; index += 4) codePoints.push(content.readUInt32BE(index));
      return String.fromCodePoint(...codePoints);
    }
    default:
      return undefined;
  }
}

/** RFC 4514 §2.4 escaping. */
function escapeAttributeValue(value: string): string {
  let escaped = value.replace(/[\\"+,;<>]/g, (character) => `\\${character}`).replace(/\0/g, '\\00');
  if (escaped.startsWith('#') || escaped.startsWith(' ')) escaped = `\\${escaped}`;
  if (escaped.endsWith(' ') && !escaped.endsWith('\\ ')) escaped = `${escaped.slice(0, -1)}\\ `;
  return escaped;
}

/** Prints the Name element `name` of `buffer`: most specific RDN first, ", " between RDNs, " + " inside one. */
export function formatName(buffer: Buffer, name: DerElement): string {
  expectTag(name, TAG.SEQUENCE, 'Name');
  const rdns = readChildren(buffer, name).map((rdn) => {
    expectTag(rdn, TAG.SET, 'RelativeDistinguishedName');
    return readChildren(buffer, rdn)
      .map((attribute) => {
        const [typeElement, valueElement] = readChildren(
          buffer,
          expectTag(attribute, TAG.SEQUENCE, 'AttributeTypeAndValue'),
        );
        if (typeElement === undefined || valueElement === undefined)
          throw new DerError('AttributeTypeAndValue is incomplete');
        const oid = decodeOid(contentOf(buffer, expectTag(typeElement, TAG.OID, 'attribute type')));
        const label = TYPES_BY_OID.get(oid)?.shortName ?? oid;
        const text = decodeDirectoryString(buffer, valueElement);
        // RFC 4514: a value of a type we cannot print as text goes out as #hex of its encoding.
        const printed =
          text === undefined
            ? `#${bytesOf(buffer, valueElement).toString('hex')}`
            : escapeAttributeValue(text);
        return `${label}=${printed}`;
      })
      .join(' + ');
  });
  return rdns.reverse().join(', ');
}
