/**
 * The hostile-input corpus: malformed and adversarial requests and revocations, each with the error code it
 * must end in and a piece of the message that says why. `stage` says where the refusal happens: the message
 * validator (`validate`) or the subject parser and mapping (`plan`, run on what validation let through).
 * The `valid` entries carry metacharacters that must pass and still make SOAP bodies the XSDs accept.
 */
import { createCertificate } from '../../../dev/pki/certificates';
import type { ErrorCode } from '../../../shared/contract/errors';

// A real certificate, so that a message through the pipeline meets the refusal it is about, not this one's.
const RECIPIENT_PEM = createCertificate({
  subject: [{ shortName: 'CN', value: 'PFX Recipient' }],
  days: 30,
}).certPem;

export const ALLOWED = { caAllowedHosts: ['pki-ws.symauth.com'] };

export function baseRequest(): Record<string, unknown> {
  return {
    schemaVersion: 1,
    requestId: 'hostile-1',
    certificateAuthority: 'pki-ws.symauth.com',
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    subjectName: 'CN=IWUser0,E=IWUser0@contoso.com',
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.com' },
      { type: 'AltNameTypeUpn', value: 'IWUser0@contoso.com' },
    ],
    recipientCertificate: RECIPIENT_PEM,
  };
}

export function baseRevocation(): Record<string, unknown> {
  return {
    schemaVersion: 1,
    revocationId: 'hostile-revocation-1',
    certificateAuthority: 'pki-ws.symauth.com',
    serialNumber: '4F2A01',
    reason: 'CessationOfOperation',
  };
}

export interface HostileCase {
  name: string;
  kind: 'request' | 'revocation';
  /** The queue message: JSON text, bytes, or an already-parsed value as the Functions host hands over. */
  body: unknown;
  stage: 'validate' | 'plan';
  code: ErrorCode;
  message: string;
}

export interface AcceptedCase {
  name: string;
  kind: 'request' | 'revocation';
  body: unknown;
}

const request = (changes: Record<string, unknown>): Record<string, unknown> => ({
  ...baseRequest(),
  ...changes,
});
const revocation = (changes: Record<string, unknown>): Record<string, unknown> => ({
  ...baseRevocation(),
  ...changes,
});
const withEmail = (value: string): Record<string, unknown> =>
  request({ subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value }] });
const withUpn = (value: string): Record<string, unknown> =>
  request({ subjectAlternativeNames: [{ type: 'AltNameTypeUpn', value }] });
const withOtherName = (value: string): Record<string, unknown> =>
  request({
    subjectAlternativeNames: [{ type: 'AltNameTypeOtherName', oid: '1.3.6.1.4.1.311.25.1', value }],
  });
/** The base request as JSON text with `raw` spliced in as the first member: for duplicates and odd keys. */
const textWith = (raw: string, base: Record<string, unknown> = baseRequest()): string =>
  `{${raw},${JSON.stringify(base).slice(1)}`;
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

function refused(
  name: string,
  body: unknown,
  code: ErrorCode,
  message: string,
  options: { stage?: 'validate' | 'plan'; kind?: 'request' | 'revocation' } = {},
): HostileCase {
  return { name, body, code, message, stage: options.stage ?? 'validate', kind: options.kind ?? 'request' };
}
const atPlan = { stage: 'plan' } as const;
const asRevocation = { kind: 'revocation' } as const;

const LONG = 'a'.repeat(60_000);

export const HOSTILE_CASES: HostileCase[] = [
  // oversized fields and messages
  refused(
    'CN of 60,000 characters',
    request({ subjectName: `CN=${LONG}` }),
    'INVALID_REQUEST',
    'subjectName is 60003 characters, but at most 2048',
  ),
  refused(
    'CN of 65 characters',
    request({ subjectName: `CN=${'a'.repeat(65)}` }),
    'INVALID_REQUEST',
    'at most 64 (ub-common-name',
    atPlan,
  ),
  refused(
    'CN of 65 escaped characters',
    request({ subjectName: `CN=${'\\41'.repeat(65)}` }),
    'INVALID_REQUEST',
    'subjectName CN= is 65 characters',
    atPlan,
  ),
  refused(
    'E= of 256 characters',
    request({ subjectName: `CN=a,E=${'a'.repeat(250)}@contoso.com` }),
    'INVALID_REQUEST',
    'at most 255 (ub-emailaddress-length',
    atPlan,
  ),
  refused(
    'E= with a 65-octet local part',
    request({ subjectName: `CN=a,E=${'a'.repeat(65)}@contoso.com` }),
    'INVALID_REQUEST',
    'local part (before the @) of 65 octets',
    atPlan,
  ),
  refused(
    'e-mail of 255 octets',
    withEmail(`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}.com`),
    'INVALID_REQUEST',
    'is 257 octets of UTF-8, but an e-mail address is at most 254',
  ),
  refused(
    'e-mail with a 65-octet local part',
    withEmail(`${'a'.repeat(65)}@contoso.com`),
    'INVALID_REQUEST',
    'local part (before the @) of 65 octets',
  ),
  refused(
    'e-mail local part of 33 two-octet characters',
    withEmail(`${'é'.repeat(33)}@contoso.com`),
    'INVALID_REQUEST',
    'of 66 octets',
  ),
  refused(
    'UPN of 300 characters',
    withUpn(`${'u'.repeat(60)}@${'d'.repeat(235)}.com`),
    'INVALID_REQUEST',
    'a UPN is at most 254',
  ),
  refused(
    'UPN with a 64-octet DNS label',
    withUpn(`u@${'d'.repeat(64)}.com`),
    'INVALID_REQUEST',
    'a DNS label is at most 63',
  ),
  refused(
    'SAN value of 4,000 characters',
    withUpn('x'.repeat(4000)),
    'INVALID_REQUEST',
    'subjectAlternativeNames[0].value is 4000 characters, but at most 3072',
  ),
  refused(
    'otherName of 1,100 bytes of hex',
    withOtherName('04 '.repeat(1100)),
    'INVALID_REQUEST',
    'but at most 3072 are allowed (an otherName of 1024 bytes',
  ),
  refused(
    '17 SAN entries',
    request({
      subjectAlternativeNames: Array.from({ length: 17 }, () => ({
        type: 'AltNameTypeEmail',
        value: 'a@b.com',
      })),
    }),
    'INVALID_REQUEST',
    'has 17 entries, but at most 16',
  ),
  refused(
    'requestId of 65 characters',
    request({ requestId: 'r'.repeat(65) }),
    'INVALID_REQUEST',
    'requestId must be 1 to 64 characters',
  ),
  refused(
    'context of 5,000 bytes',
    request({ context: { blob: 'x'.repeat(5000) } }),
    'INVALID_REQUEST',
    'but at most 4096 bytes',
  ),
  refused(
    'recipientCertificate of 20,000 characters',
    request({ recipientCertificate: 'A'.repeat(20_000) }),
    'INVALID_REQUEST',
    'recipientCertificate is 20000 characters, but at most 16384',
  ),
  refused(
    'message of 70,000 bytes',
    JSON.stringify(request({ recipientCertificate: 'A'.repeat(70_000) })),
    'INVALID_REQUEST',
    'but a queue message holds at most 65536 bytes',
  ),
  refused(
    'message of 70,000 bytes as UTF-8 bytes',
    Buffer.from(JSON.stringify(request({ context: { x: 'é'.repeat(35_000) } }))),
    'INVALID_REQUEST',
    'at most 65536 bytes',
  ),
  refused(
    'message of 70,000 bytes already parsed',
    request({ recipientCertificate: 'A'.repeat(70_000) }),
    'INVALID_REQUEST',
    'at most 65536 bytes',
  ),
  refused(
    'certificateAuthority of 300 characters',
    request({ certificateAuthority: 'a.'.repeat(150) + 'com' }),
    'CA_NOT_ALLOWED',
    'a host name and port are at most 259',
  ),
  refused(
    'certificateTemplateName of 300 characters',
    request({ certificateTemplateName: `2${'.1'.repeat(150)}` }),
    'TEMPLATE_INVALID',
    'an OID is at most 256',
  ),
  refused(
    'SAN oid of 300 characters',
    request({
      subjectAlternativeNames: [
        { type: 'AltNameTypeOtherName', oid: `1${'.3'.repeat(150)}`, value: '04 00' },
      ],
    }),
    'INVALID_REQUEST',
    'subjectAlternativeNames[0].oid is 301 characters',
  ),
  // deep nesting
  refused(
    'context nested 10,000 levels deep',
    `${JSON.stringify(baseRequest()).slice(0, -1)},"context":{"a":${nested(10_000)}}}`,
    'INVALID_REQUEST',
    'context is nested more than 32 levels deep',
  ),
  refused(
    'context of 100 bytes nested 40 levels deep',
    request({ context: JSON.parse(`{"a":${nested(39)}}`) as unknown }),
    'INVALID_REQUEST',
    'context is nested more than 32 levels deep',
  ),
  refused(
    'a message nested 10,000 levels deep',
    nested(10_000),
    'INVALID_REQUEST',
    'the message must be a JSON object, not an array',
  ),
  refused(
    'a message nested 32,000 levels deep',
    nested(32_000),
    'INVALID_REQUEST',
    'the message must be a JSON object',
  ),
  refused(
    'objects nested 10,000 levels deep',
    `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`,
    'INVALID_REQUEST',
    'schemaVersion is required',
  ),
  refused(
    'an unclosed nesting of 30,000 levels',
    '['.repeat(30_000),
    'INVALID_REQUEST',
    'the message is not valid JSON',
  ),
  // duplicate keys
  refused(
    'requestId twice',
    textWith('"requestId":"first"'),
    'INVALID_REQUEST',
    'the key "requestId" twice in one object',
  ),
  refused(
    'subjectName twice, once escaped',
    textWith('"subject\\u004eame":"CN=Admin"'),
    'INVALID_REQUEST',
    'the key "subjectName" twice',
  ),
  refused(
    'a key twice inside a SAN entry',
    textWith('"subjectAlternativeNames":[{"type":"AltNameTypeEmail","value":"a@b.com","value":"c@d.com"}]', {
      ...baseRequest(),
      subjectAlternativeNames: undefined,
    }),
    'INVALID_REQUEST',
    'the key "value" twice',
  ),
  refused(
    'a key twice inside context',
    textWith('"context":{"k":1,"k":2}'),
    'INVALID_REQUEST',
    'the key "k" twice',
  ),
  // control, bidi and zero-width characters
  refused(
    'NUL in the CN',
    request({ subjectName: 'CN=IW\u0000User' }),
    'INVALID_REQUEST',
    'subjectName contains the control character U+0000 at character 6',
  ),
  refused(
    'escaped NUL in the CN',
    request({ subjectName: 'CN=IW\\00User' }),
    'INVALID_REQUEST',
    'subjectName CN= contains the control character U+0000',
    atPlan,
  ),
  refused(
    'tab in the CN',
    request({ subjectName: 'CN=IW\tUser' }),
    'INVALID_REQUEST',
    'the control character U+0009',
  ),
  refused(
    'C1 NEL in the CN',
    request({ subjectName: 'CN=IW\u0085User' }),
    'INVALID_REQUEST',
    'the control character U+0085',
  ),
  refused(
    'RLO in the e-mail',
    withEmail('h04\u202e@contoso.com'),
    'INVALID_REQUEST',
    'subjectAlternativeNames[0].value contains the bidirectional-text control U+202E',
  ),
  refused(
    'escaped RLO in the CN',
    request({ subjectName: 'CN=IW\\E2\\80\\AEUser' }),
    'INVALID_REQUEST',
    'the bidirectional-text control U+202E',
    atPlan,
  ),
  refused(
    'isolate in the e-mail',
    withEmail('a\u2066b@contoso.com'),
    'INVALID_REQUEST',
    'the bidirectional-text control U+2066',
  ),
  refused(
    'zero-width space in the UPN',
    withUpn('adm\u200bin@contoso.com'),
    'INVALID_REQUEST',
    'the zero-width character U+200B',
  ),
  refused(
    'BOM inside the CN',
    request({ subjectName: 'CN=IW\ufeffUser' }),
    'INVALID_REQUEST',
    'the zero-width character U+FEFF',
  ),
  refused(
    'line separator in the CN',
    request({ subjectName: 'CN=IW\u2028User' }),
    'INVALID_REQUEST',
    'the line or paragraph separator U+2028',
  ),
  refused(
    'unpaired surrogate in the UPN',
    withUpn('a\ud800b@contoso.com'),
    'INVALID_REQUEST',
    'an unpaired surrogate at character 2',
  ),
  refused(
    'soft hyphen in the e-mail',
    withEmail('ad\u00admin@contoso.com'),
    'INVALID_REQUEST',
    'the invisible character U+00AD',
  ),
  // confusables and non-NFC forms
  refused(
    'Cyrillic o in an ASCII-looking e-mail domain',
    withEmail('user@c\u043entoso.com'),
    'INVALID_REQUEST',
    'mixes Latin and Cyrillic letters',
  ),
  refused(
    'Greek omicron in a UPN domain',
    withUpn('user@c\u03bfntoso.com'),
    'INVALID_REQUEST',
    'mixes Latin and Greek letters',
  ),
  refused(
    'full-width letters in the domain',
    withEmail('user@\uff43ontoso.com'),
    'INVALID_REQUEST',
    'stand for the ASCII domain contoso.com',
  ),
  refused(
    'a domain that is not IDNA',
    withUpn('user@\u0378.com'),
    'INVALID_REQUEST',
    'neither ASCII nor a valid internationalized domain name',
  ),
  refused(
    'decomposed é in the e-mail',
    withEmail('rene\u0301@contoso.com'),
    'INVALID_REQUEST',
    'not in Unicode normalization form C (NFC)',
  ),
  refused(
    'decomposed ü in the UPN',
    withUpn('mu\u0308ller@contoso.com'),
    'INVALID_REQUEST',
    'send a UPN NFC-normalized',
  ),
  refused(
    'Cyrillic look-alike in the E= domain',
    request({ subjectName: 'CN=a,E=user@c\u043entoso.com' }),
    'INVALID_REQUEST',
    'subjectName E= has a domain label that mixes Latin and Cyrillic',
    atPlan,
  ),
  refused(
    'decomposed CN that is an e-mail address',
    request({ subjectName: 'CN=rene\u0301@contoso.com' }),
    'INVALID_REQUEST',
    'subjectName CN= is not in Unicode normalization form C',
    atPlan,
  ),
  // DN metacharacters in the subject
  refused(
    'multi-valued RDN',
    request({ subjectName: 'CN=a+OU=b' }),
    'POLICY_MISMATCH',
    'multi-valued RDN',
    atPlan,
  ),
  refused(
    'an injected OU',
    request({ subjectName: 'CN=a,OU=Admins' }),
    'POLICY_MISMATCH',
    'contains the attribute "OU"',
    atPlan,
  ),
  refused(
    'an injected OU after ;',
    request({ subjectName: 'CN=a;OU=Admins' }),
    'POLICY_MISMATCH',
    'contains the attribute "OU"',
    atPlan,
  ),
  refused(
    'a #-hex value',
    request({ subjectName: 'CN=#0403414243' }),
    'POLICY_MISMATCH',
    'hex-encoded',
    atPlan,
  ),
  refused(
    'a lone trailing backslash',
    request({ subjectName: 'CN=a\\' }),
    'POLICY_MISMATCH',
    'lone backslash',
    atPlan,
  ),
  refused(
    'an unterminated quote',
    request({ subjectName: 'CN="unterminated' }),
    'POLICY_MISMATCH',
    'unterminated quoted value',
    atPlan,
  ),
  refused(
    'an invalid escape',
    request({ subjectName: 'CN=a\\q' }),
    'POLICY_MISMATCH',
    'invalid escape',
    atPlan,
  ),
  refused(
    'an escape that is not UTF-8',
    request({ subjectName: 'CN=\\C3' }),
    'POLICY_MISMATCH',
    'not valid UTF-8',
    atPlan,
  ),
  refused(
    'a trailing separator',
    request({ subjectName: 'CN=a,' }),
    'POLICY_MISMATCH',
    'ends with a separator',
    atPlan,
  ),
  refused('an empty CN', request({ subjectName: 'CN=' }), 'POLICY_MISMATCH', 'has an empty CN', atPlan),
  refused('CN twice', request({ subjectName: 'CN=a,CN=b' }), 'POLICY_MISMATCH', 'CN more than once', atPlan),
  // odd and truncated otherName DER
  refused(
    'otherName with an odd digit',
    withOtherName('04 1'),
    'OTHERNAME_INVALID',
    'odd number of hex digits',
    atPlan,
  ),
  refused(
    'otherName truncated',
    withOtherName('04 12 b8 ba'),
    'OTHERNAME_INVALID',
    'is not well-formed DER',
    atPlan,
  ),
  refused(
    'otherName with trailing bytes',
    withOtherName('04 01 00 00'),
    'OTHERNAME_INVALID',
    'is not well-formed DER',
    atPlan,
  ),
  refused('otherName not hex', withOtherName('zz'), 'OTHERNAME_INVALID', 'non-hex character', atPlan),
  refused(
    'otherName of indefinite length',
    withOtherName('24 80 04 01 00 00 00'),
    'OTHERNAME_INVALID',
    'is not well-formed DER',
    atPlan,
  ),
  refused(
    'otherName with a non-minimal length',
    withOtherName('04 81 01 00'),
    'OTHERNAME_INVALID',
    'is not well-formed DER',
    atPlan,
  ),
  refused(
    'otherName claiming 4 GiB',
    withOtherName('04 84 ff ff ff ff 00'),
    'OTHERNAME_INVALID',
    'is not well-formed DER',
    atPlan,
  ),
  refused('otherName of separators only', withOtherName(': : :'), 'OTHERNAME_INVALID', 'is empty', atPlan),
  // wrong types
  refused(
    'schemaVersion as a string',
    request({ schemaVersion: '1' }),
    'INVALID_REQUEST',
    'schemaVersion must be 1',
  ),
  refused(
    'requestId as a number',
    request({ requestId: 42 }),
    'INVALID_REQUEST',
    'requestId must be a string',
  ),
  refused(
    'SANs as an object',
    request({ subjectAlternativeNames: { type: 'AltNameTypeEmail' } }),
    'INVALID_REQUEST',
    'subjectAlternativeNames must be an array',
  ),
  refused(
    'keySize 1024',
    request({ keySize: 1024 }),
    'INVALID_REQUEST',
    'keySize must be one of 2048, 3072, 4096',
  ),
  refused('keySize as a string', request({ keySize: '2048' }), 'INVALID_REQUEST', 'keySize must be one of'),
  refused(
    'context as an array',
    request({ context: [1] }),
    'INVALID_REQUEST',
    'context must be a JSON object',
  ),
  refused(
    'subjectName null',
    request({ subjectName: null }),
    'INVALID_REQUEST',
    'subjectName must be a string, not null',
  ),
  refused(
    'a number as the message',
    42,
    'INVALID_REQUEST',
    'the message must be a JSON object, not a number',
  ),
  refused('null as the message', 'null', 'INVALID_REQUEST', 'the message must be a JSON object, not null'),
  refused('an empty message', '', 'INVALID_REQUEST', 'the message is not valid JSON'),
  refused(
    'invalid UTF-8 bytes',
    Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    'INVALID_REQUEST',
    'the message is not valid JSON',
  ),
  // prototype keys
  refused(
    '__proto__ at the top',
    textWith('"__proto__":{"polluted":true}'),
    'INVALID_REQUEST',
    '__proto__ is not a field',
  ),
  refused(
    'constructor at the top',
    textWith('"constructor":{"prototype":{"polluted":true}}'),
    'INVALID_REQUEST',
    'constructor is not a field',
  ),
  refused(
    'prototype at the top',
    textWith('"prototype":{"polluted":true}'),
    'INVALID_REQUEST',
    'prototype is not a field',
  ),
  refused(
    '__proto__ in a SAN entry',
    textWith(
      '"subjectAlternativeNames":[{"type":"AltNameTypeEmail","value":"a@b.com","__proto__":{"polluted":true}}]',
      { ...baseRequest(), subjectAlternativeNames: undefined },
    ),
    'INVALID_REQUEST',
    '__proto__ is not a field',
  ),
  // revocations
  refused(
    'NUL in a revocation comment',
    revocation({ comment: 'retired\u0000' }),
    'INVALID_REQUEST',
    'comment contains the control character U+0000',
    asRevocation,
  ),
  refused(
    'RLO in a revocation comment',
    revocation({ comment: 'retired \u202e' }),
    'INVALID_REQUEST',
    'the bidirectional-text control U+202E',
    asRevocation,
  ),
  refused(
    'comment of 513 characters',
    revocation({ comment: 'c'.repeat(513) }),
    'INVALID_REQUEST',
    'comment is 513 characters, but at most 512',
    asRevocation,
  ),
  refused(
    'serialNumber not hex',
    revocation({ serialNumber: '<zz>' }),
    'INVALID_REQUEST',
    'serialNumber must be a certificate serial number',
    asRevocation,
  ),
  refused(
    'serial number and requestId both',
    revocation({ requestId: 'r-1' }),
    'INVALID_REQUEST',
    'both given',
    asRevocation,
  ),
  refused(
    'an unknown reason',
    revocation({ reason: 'Because' }),
    'INVALID_REQUEST',
    'reason must be one of',
    asRevocation,
  ),
  refused(
    '__proto__ in a revocation',
    textWith('"__proto__":{"polluted":true}', baseRevocation()),
    'INVALID_REQUEST',
    '__proto__ is not a field',
    asRevocation,
  ),
  refused(
    'revocationId twice',
    textWith('"revocationId":"other"', baseRevocation()),
    'INVALID_REQUEST',
    'the key "revocationId" twice',
    asRevocation,
  ),
  refused(
    'a revocation of 70,000 bytes',
    JSON.stringify(revocation({ context: { x: 'x'.repeat(70_000) } })),
    'INVALID_REQUEST',
    'at most 65536 bytes',
    asRevocation,
  ),
  refused(
    'a revocation host of 300 characters',
    revocation({ certificateAuthority: 'a.'.repeat(150) + 'com' }),
    'CA_NOT_ALLOWED',
    'certificateAuthority',
    asRevocation,
  ),
  refused(
    'a revocation as an array',
    nested(10_000),
    'INVALID_REQUEST',
    'the message must be a JSON object',
    asRevocation,
  ),
];

/** XML metacharacters in every value that reaches a SOAP body, and DN metacharacters escaped as RFC 4514 says. */
const XML_METACHARACTERS = `<a href="x">&amp; ]]> 'q'`;

export const ACCEPTED_CASES: AcceptedCase[] = [
  {
    name: 'a CN of exactly 64 characters',
    kind: 'request',
    body: request({ subjectName: `CN=${'a'.repeat(64)}` }),
  },
  {
    name: 'XML metacharacters in the CN',
    kind: 'request',
    body: request({ subjectName: `CN=${'<a>&amp\\;]]>"\''}` }),
  },
  {
    name: 'XML and escaped DN metacharacters in the CN',
    kind: 'request',
    body: request({ subjectName: 'CN=a\\,b\\+c\\;d\\=e\\\\f\\"g\\#h<&>' }),
  },
  {
    name: 'a quoted CN with DN metacharacters',
    kind: 'request',
    body: request({ subjectName: 'CN="a,b+c;d=e<&>"' }),
  },
  {
    name: 'XML metacharacters in the e-mail and UPN',
    kind: 'request',
    body: request({
      subjectName: 'CN=a',
      subjectAlternativeNames: [
        { type: 'AltNameTypeEmail', value: "a<b>&c]]>'@contoso.com" },
        { type: 'AltNameTypeUpn', value: 'u"<&>@contoso.com' },
      ],
    }),
  },
  {
    name: 'XML metacharacters in E=',
    kind: 'request',
    body: request({ subjectName: "CN=a,E=x<y>&z]]>'@contoso.com", subjectAlternativeNames: [] }),
  },
  { name: 'an internationalized domain in one script', kind: 'request', body: withEmail('user@müller.de') },
  { name: 'a NFC local part', kind: 'request', body: withUpn('rené@contoso.com') },
  {
    name: '__proto__, constructor and prototype inside context',
    kind: 'request',
    body: textWith(
      '"context":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1}',
    ),
  },
  { name: 'a UTF-8 BOM before the message', kind: 'request', body: `\ufeff${JSON.stringify(baseRequest())}` },
  {
    name: 'XML metacharacters in a revocation comment',
    kind: 'revocation',
    body: revocation({ comment: `${XML_METACHARACTERS}\nline two\ttabbed` }),
  },
];
