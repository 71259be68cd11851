import { DEFAULT_REMEDIES, type BrokerError, type ErrorCode } from '../../../shared/contract/errors';
import {
  CONTEXT_MAX_BYTES,
  parseRequestMessage,
  readContextLoosely,
  readRequestIdLoosely,
} from '../../../shared/contract/validate';
import { brokerErrorOf } from '../../support/brokerErrors';

// The validator does not parse certificates: any non-empty text will do, shaped like what Intune sends.
const RECIPIENT_PEM = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBszCCAVmgAwIBAgIUKxq1dGVzdC1yZWNpcGllbnQtcGxhY2Vob2xkZXIwCgYI',
  'KoZIzj0EAwIwGTEXMBUGA1UEAwwOdGVzdC1yZWNpcGllbnQ=',
  '-----END CERTIFICATE-----',
].join('\n');

const ALLOWED = { caAllowedHosts: ['pki-ws.symauth.com', 'ca.test.local:8443'] };

function contractExample(): Record<string, unknown> {
  return {
    schemaVersion: 1,
    requestId: '6f1c2c3e-1d7a-4a55-9d7f-2f0e9b9e7a10',
    certificateAuthority: 'pki-ws.symauth.com',
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    subjectName: 'CN=IWUser0,E=IWUser0@contoso.onmicrosoft.com',
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.onmicrosoft.com' },
      { type: 'AltNameTypeUpn', value: 'IWUser0@contoso.onmicrosoft.com' },
      {
        type: 'AltNameTypeOtherName',
        oid: '1.3.6.1.4.1.311.25.1',
        value: '04 12 b8 ba 65 41 f2 d4 07 41 a9 f7 47 08 f3 e4 28 5c ef 2c',
      },
    ],
    keySize: 2048,
    recipientCertificate: RECIPIENT_PEM,
    context: { deviceId: 'device-42', userId: 'user-7' },
  };
}

function withChanges(changes: Record<string, unknown>, remove: string[] = []): Record<string, unknown> {
  const request = { ...contractExample(), ...changes };
  for (const field of remove) delete request[field];
  return request;
}

function refusal(body: unknown, options = ALLOWED): BrokerError {
  return brokerErrorOf(() => parseRequestMessage(body, options));
}

function sanList(...items: unknown[]): unknown[] {
  return items;
}

describe('parseRequestMessage: valid requests', () => {
  it('accepts the contract example as JSON text and returns it unchanged', () => {
    const text = JSON.stringify(contractExample());
    expect(parseRequestMessage(text, ALLOWED)).toEqual(contractExample());
  });

  it.each<[string, unknown]>([
    ['JSON text with a UTF-8 BOM', '\uFEFF' + JSON.stringify(contractExample())],
    [
      'UTF-8 bytes with a BOM',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(contractExample()))]),
    ],
    ['an already-parsed object', contractExample()],
  ])('accepts %s', (_label, body) => {
    expect(parseRequestMessage(body, ALLOWED)).toEqual(contractExample());
  });

  // Every row has three entries: jest would pass a done callback in place of a missing one.
  it.each<[string, Record<string, unknown>, string[]]>([
    ['only the required fields', {}, ['subjectAlternativeNames', 'keySize', 'context']],
    ['keySize 3072', { keySize: 3072 }, []],
    ['keySize 4096', { keySize: 4096 }, []],
    ['an empty SAN list', { subjectAlternativeNames: [] }, []],
    [
      'an otherName without oid',
      { subjectAlternativeNames: [{ type: 'AltNameTypeOtherName', value: '04 01 00' }] },
      [],
    ],
    ['a listed host:port', { certificateAuthority: 'ca.test.local:8443' }, []],
    ['a listed host in other letter case', { certificateAuthority: 'PKI-WS.SymAuth.com' }, []],
    ['a listed host with the https default port', { certificateAuthority: 'pki-ws.symauth.com:443' }, []],
    ['a requestId of 64 allowed characters', { requestId: 'Az09._:-'.repeat(8) }, []],
    ['a domain user SID', { securityIdentifier: 'S-1-5-21-3623811015-3361044348-30300820-1013' }, []],
    [
      'a SID with 14 sub-authorities at their 32-bit limit',
      { securityIdentifier: `S-1-281474976710655${'-4294967295'.repeat(14)}` },
      [],
    ],
    [
      'a context of exactly 4 KB',
      { context: { pad: 'x'.repeat(CONTEXT_MAX_BYTES - '{"pad":""}'.length) } },
      [],
    ],
  ])('accepts %s', (_label, changes, remove) => {
    const request = withChanges(changes, remove);
    expect(parseRequestMessage(JSON.stringify(request), ALLOWED)).toEqual(request);
  });
});

describe('parseRequestMessage: each rule broken alone', () => {
  // [what is wrong, message body, expected code, fragments the message must contain]
  const cases: [string, unknown, ErrorCode, string[]][] = [
    ['text that is not JSON', '{"schemaVersion": 1,', 'INVALID_REQUEST', ['the message is not valid JSON: ']],
    ['an empty message', '', 'INVALID_REQUEST', ['the message is not valid JSON: ']],
    ['a JSON array', '[]', 'INVALID_REQUEST', ['the message must be a JSON object, not an array']],
    ['JSON null', 'null', 'INVALID_REQUEST', ['the message must be a JSON object, not null']],
    [
      'schemaVersion 2',
      withChanges({ schemaVersion: 2 }),
      'INVALID_REQUEST',
      ['schemaVersion must be 1', 'got 2'],
    ],
    [
      'schemaVersion as text',
      withChanges({ schemaVersion: '1' }),
      'INVALID_REQUEST',
      ['schemaVersion must be 1'],
    ],
    [
      'no schemaVersion',
      withChanges({}, ['schemaVersion']),
      'INVALID_REQUEST',
      ['schemaVersion is required'],
    ],
    ['no requestId', withChanges({}, ['requestId']), 'INVALID_REQUEST', ['requestId is required']],
    [
      'an empty requestId',
      withChanges({ requestId: '' }),
      'INVALID_REQUEST',
      ['requestId must be 1 to 64 characters'],
    ],
    [
      'a 65-character requestId',
      withChanges({ requestId: 'a'.repeat(65) }),
      'INVALID_REQUEST',
      ['requestId must be 1 to 64'],
    ],
    [
      'a requestId with a space',
      withChanges({ requestId: 'a b' }),
      'INVALID_REQUEST',
      ['requestId', '. _ : -'],
    ],
    ['a requestId with a slash', withChanges({ requestId: 'a/b' }), 'INVALID_REQUEST', ['requestId', 'a-z']],
    [
      'certificateAuthority with a scheme and trailing slash',
      withChanges({ certificateAuthority: 'https://pki-ws.symauth.com/' }),
      'CA_NOT_ALLOWED',
      [
        'certificateAuthority',
        '"https://pki-ws.symauth.com/"',
        'a scheme (https://)',
        'a trailing slash',
        'use pki-ws.symauth.com',
      ],
    ],
    [
      'certificateAuthority with a scheme',
      withChanges({ certificateAuthority: 'https://pki-ws.symauth.com' }),
      'CA_NOT_ALLOWED',
      ['certificateAuthority', 'a scheme (https://)', 'use pki-ws.symauth.com'],
    ],
    [
      'certificateAuthority with a trailing slash',
      withChanges({ certificateAuthority: 'pki-ws.symauth.com/' }),
      'CA_NOT_ALLOWED',
      ['certificateAuthority', 'a trailing slash', 'use pki-ws.symauth.com'],
    ],
    [
      'certificateAuthority with a path',
      withChanges({ certificateAuthority: 'pki-ws.symauth.com/pki-ws/policyService' }),
      'CA_NOT_ALLOWED',
      ['certificateAuthority', 'a path (/pki-ws/policyService)', 'use pki-ws.symauth.com'],
    ],
    [
      'certificateAuthority URL with a port',
      withChanges({ certificateAuthority: 'https://ca.test.local:8443/pki-ws' }),
      'CA_NOT_ALLOWED',
      ['a scheme (https://)', 'a path (/pki-ws)', 'use ca.test.local:8443'],
    ],
    [
      'certificateAuthority that is not a host name',
      withChanges({ certificateAuthority: 'pki ws' }),
      'CA_NOT_ALLOWED',
      ['certificateAuthority "pki ws" is not a bare host name or host:port'],
    ],
    [
      'certificateAuthority with a port out of range',
      withChanges({ certificateAuthority: 'pki-ws.symauth.com:70000' }),
      'CA_NOT_ALLOWED',
      [
        'certificateAuthority "pki-ws.symauth.com:70000" has port 70000, which is not a TCP port (1 to 65535)',
      ],
    ],
    [
      'an unlisted certificateAuthority',
      withChanges({ certificateAuthority: 'pki-ws.attacker.example' }),
      'CA_NOT_ALLOWED',
      [
        'certificateAuthority "pki-ws.attacker.example" is not listed in CA_ALLOWED_HOSTS',
        'pki-ws.symauth.com',
      ],
    ],
    [
      'a listed host on an unlisted port',
      withChanges({ certificateAuthority: 'pki-ws.symauth.com:8443' }),
      'CA_NOT_ALLOWED',
      ['CA_ALLOWED_HOSTS'],
    ],
    [
      'a host:port entry asked for without its port',
      withChanges({ certificateAuthority: 'ca.test.local' }),
      'CA_NOT_ALLOWED',
      ['CA_ALLOWED_HOSTS'],
    ],
    [
      'no certificateAuthority',
      withChanges({}, ['certificateAuthority']),
      'CA_NOT_ALLOWED',
      ['certificateAuthority is required'],
    ],
    [
      'certificateAuthority as a number',
      withChanges({ certificateAuthority: 443 }),
      'CA_NOT_ALLOWED',
      ['certificateAuthority must be a string'],
    ],
    [
      'certificateAuthorityName "DigiCert"',
      withChanges({ certificateAuthorityName: 'DigiCert' }),
      'CA_NAME_INVALID',
      ['certificateAuthorityName is "DigiCert"', 'must be exactly "Symantec"', 'DigiCert'],
    ],
    [
      'certificateAuthorityName in lower case',
      withChanges({ certificateAuthorityName: 'symantec' }),
      'CA_NAME_INVALID',
      ['"symantec"', 'exactly "Symantec"'],
    ],
    [
      'no certificateAuthorityName',
      withChanges({}, ['certificateAuthorityName']),
      'CA_NAME_INVALID',
      ['certificateAuthorityName is required', '"Symantec"'],
    ],
    [
      'certificateTemplateName that is a name',
      withChanges({ certificateTemplateName: 'WebServer' }),
      'TEMPLATE_INVALID',
      ['certificateTemplateName is "WebServer", which is not an OID', 'dotted-decimal'],
    ],
    [
      'certificateTemplateName with a trailing dot',
      withChanges({ certificateTemplateName: '2.16.840.' }),
      'TEMPLATE_INVALID',
      ['certificateTemplateName', 'not an OID'],
    ],
    [
      'certificateTemplateName with a leading zero',
      withChanges({ certificateTemplateName: '2.016.840' }),
      'TEMPLATE_INVALID',
      ['not an OID'],
    ],
    [
      'certificateTemplateName of one arc',
      withChanges({ certificateTemplateName: '2' }),
      'TEMPLATE_INVALID',
      ['not an OID'],
    ],
    [
      'certificateTemplateName with surrounding spaces',
      withChanges({ certificateTemplateName: ' 2.16.840.1 ' }),
      'TEMPLATE_INVALID',
      ['certificateTemplateName', 'leading or trailing spaces', 'use 2.16.840.1'],
    ],
    [
      'no certificateTemplateName',
      withChanges({}, ['certificateTemplateName']),
      'TEMPLATE_INVALID',
      ['certificateTemplateName is required'],
    ],
    [
      'an empty subjectName',
      withChanges({ subjectName: '' }),
      'INVALID_REQUEST',
      ['subjectName must not be empty'],
    ],
    ['no subjectName', withChanges({}, ['subjectName']), 'INVALID_REQUEST', ['subjectName is required']],
    [
      'subjectName as an array',
      withChanges({ subjectName: ['CN=x'] }),
      'INVALID_REQUEST',
      ['subjectName must be a string, not an array'],
    ],
    [
      'a SAN of an unknown type',
      withChanges({
        subjectAlternativeNames: sanList(
          { type: 'AltNameTypeEmail', value: 'a@b.c' },
          { type: 'AltNameTypeDns', value: 'host' },
        ),
      }),
      'INVALID_REQUEST',
      [
        'subjectAlternativeNames[1].type must be one of AltNameTypeEmail, AltNameTypeUpn, AltNameTypeOtherName',
      ],
    ],
    [
      'a SAN with an empty value',
      withChanges({ subjectAlternativeNames: sanList({ type: 'AltNameTypeUpn', value: '' }) }),
      'INVALID_REQUEST',
      ['subjectAlternativeNames[0].value must not be empty'],
    ],
    [
      'a SAN without value',
      withChanges({ subjectAlternativeNames: sanList({ type: 'AltNameTypeUpn' }) }),
      'INVALID_REQUEST',
      ['subjectAlternativeNames[0].value is required'],
    ],
    [
      'an oid on an e-mail SAN',
      withChanges({
        subjectAlternativeNames: sanList({ type: 'AltNameTypeEmail', value: 'a@b.c', oid: '1.2.3' }),
      }),
      'INVALID_REQUEST',
      ['subjectAlternativeNames[0].oid is only allowed when type is AltNameTypeOtherName'],
    ],
    [
      'an otherName oid that is not an OID',
      withChanges({
        subjectAlternativeNames: sanList({ type: 'AltNameTypeOtherName', value: '04 00', oid: 'objectGUID' }),
      }),
      'INVALID_REQUEST',
      ['subjectAlternativeNames[0].oid must be an OID in dotted-decimal form'],
    ],
    [
      'an unknown SAN field',
      withChanges({
        subjectAlternativeNames: sanList({ type: 'AltNameTypeUpn', value: 'u@x', critical: true }),
      }),
      'INVALID_REQUEST',
      [
        'subjectAlternativeNames[0].critical is not a field of subjectAlternativeNames[0]',
        'type, value, oid',
      ],
    ],
    [
      'a SAN that is a string',
      withChanges({ subjectAlternativeNames: sanList('email:a@b.c') }),
      'INVALID_REQUEST',
      ['subjectAlternativeNames[0] must be a JSON object, not a string'],
    ],
    [
      'subjectAlternativeNames as an object',
      withChanges({ subjectAlternativeNames: { type: 'AltNameTypeUpn', value: 'u@x' } }),
      'INVALID_REQUEST',
      ['subjectAlternativeNames must be an array, not an object'],
    ],
    [
      'keySize 1024',
      withChanges({ keySize: 1024 }),
      'INVALID_REQUEST',
      ['keySize must be one of 2048, 3072, 4096', 'got 1024'],
    ],
    [
      'keySize as text',
      withChanges({ keySize: '2048' }),
      'INVALID_REQUEST',
      ['keySize must be one of 2048, 3072, 4096', 'got "2048"'],
    ],
    [
      'no recipientCertificate',
      withChanges({}, ['recipientCertificate']),
      'INVALID_REQUEST',
      ['recipientCertificate is required'],
    ],
    [
      'an empty recipientCertificate',
      withChanges({ recipientCertificate: '' }),
      'INVALID_REQUEST',
      ['recipientCertificate must not be empty'],
    ],
    [
      'context as an array',
      withChanges({ context: ['a'] }),
      'INVALID_REQUEST',
      ['context must be a JSON object, not an array'],
    ],
    [
      'context as text',
      withChanges({ context: 'device-42' }),
      'INVALID_REQUEST',
      ['context must be a JSON object, not a string'],
    ],
    [
      'context over 4 KB',
      withChanges({ context: { pad: 'x'.repeat(CONTEXT_MAX_BYTES) } }),
      'INVALID_REQUEST',
      [`context is ${CONTEXT_MAX_BYTES + '{"pad":""}'.length} bytes`, 'at most 4096 bytes'],
    ],
    [
      'context over 4 KB in UTF-8 bytes though not in characters',
      withChanges({ context: { pad: 'é'.repeat(2100) } }),
      'INVALID_REQUEST',
      ['context is 4210 bytes'],
    ],
    [
      'an unknown top-level field',
      withChanges({ certificateProfile: 'x' }),
      'INVALID_REQUEST',
      [
        'certificateProfile is not a field of the request (schemaVersion 1), whose fields are schemaVersion, requestId',
      ],
    ],
    [
      'two unknown top-level fields',
      withChanges({ password: 'x', 'device id': 'y' }),
      'INVALID_REQUEST',
      ['password and ["device id"] are not fields of the request (schemaVersion 1)'],
    ],
  ];

  it.each(cases)('refuses %s', (_label, body, code, fragments) => {
    const error = refusal(body);
    expect(error.code).toBe(code);
    for (const fragment of fragments) expect(error.message).toContain(fragment);
    expect(error.remedy).toBe(DEFAULT_REMEDIES[code]);
    expect(error.retryable).toBe(false);
  });

  it('lists only the one problem when one rule is broken', () => {
    const error = refusal(withChanges({ keySize: 1024 }));
    expect(error.message).not.toContain(';');
  });

  it('does not echo the subject, SAN values or the recipient certificate', () => {
    const error = refusal(
      withChanges({
        subjectName: 42,
        subjectAlternativeNames: sanList({
          type: 'AltNameTypeEmail',
          value: '',
          extra: 'secret.person@contoso.com',
        }),
        recipientCertificate: 7,
      }),
    );
    expect(error.message).not.toContain('contoso');
    expect(error.message).not.toContain('BEGIN CERTIFICATE');
  });

  it('refuses a CA missing from an empty allow-list, saying the list is empty', () => {
    const error = refusal(contractExample(), { caAllowedHosts: [] });
    expect(error.code).toBe('CA_NOT_ALLOWED');
    expect(error.message).toContain('CA_ALLOWED_HOSTS is empty');
  });
});

describe('parseRequestMessage: securityIdentifier', () => {
  const SID_RULE = 'securityIdentifier must be a SID in its text form';
  // Each is refused with INVALID_REQUEST naming the field, never echoing the value.
  it.each<[string, unknown, string]>([
    ['lower-case s', 's-1-5-21-1-2-3-1013', SID_RULE],
    ['no sub-authority', 'S-1-5', SID_RULE],
    ['revision 2', 'S-2-5-21-1', SID_RULE],
    ['a trailing newline', 'S-1-5-21-424242-2-3-1013\n', SID_RULE],
    ['a newline inside', 'S-1-5-21-424242\n-2-3-1013', SID_RULE],
    ['a leading space', ' S-1-5-21-424242-2-3-1013', SID_RULE],
    ['a trailing space', 'S-1-5-21-424242-2-3-1013 ', SID_RULE],
    ['a space inside', 'S-1-5-21 -424242-2-3-1013', SID_RULE],
    ['a trailing hyphen', 'S-1-5-21-424242-2-3-1013-', SID_RULE],
    ['two hyphens', 'S-1-5--21-424242', SID_RULE],
    ['letters', 'S-1-5-21-424242-abc', SID_RULE],
    ['hex', 'S-1-0x5-21-424242', SID_RULE],
    ['Arabic-Indic digits', 'S-1-5-21-424242-\u0661\u0662', SID_RULE],
    ['fullwidth digits', 'S-1-5-21-424242-\uff11', SID_RULE],
    ['a NUL character', 'S-1-5-21-424242\u0000', SID_RULE],
    ['15 sub-authorities', `S-1-5-424242${'-1'.repeat(14)}`, SID_RULE],
    ['an empty string', '', SID_RULE],
    ['a number', 1, 'securityIdentifier must be a string'],
    ['a sub-authority over 32 bits', 'S-1-5-21-424242-4294967296', 'number 3 after the identifier authority'],
    ['an identifier authority over 48 bits', 'S-1-281474976710656-21-424242', 'identifier authority'],
  ])('refuses %s', (_label, sid, fragment) => {
    const error = refusal(withChanges({ securityIdentifier: sid }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain(fragment);
    // The value is not echoed (a SID identifies a person); 424242 marks it.
    expect(error.message).not.toContain('424242');
    expect(error.message).not.toContain(';');
  });
});

describe('parseRequestMessage: signature', () => {
  const valid = {
    algorithm: 'HMAC-SHA256',
    keyId: '0123456789abcdef0123456789abcdef',
    signedAt: '2026-12-05T21:00:00.000Z',
    value: `${'A'.repeat(43)}=`,
  };

  it('accepts a well-formed signature (whether it is right is checked later, with the key)', () => {
    expect(parseRequestMessage(withChanges({ signature: valid }), ALLOWED).signature).toEqual(valid);
    const withoutKeyId: Partial<typeof valid> = { ...valid };
    delete withoutKeyId.keyId;
    expect(() => parseRequestMessage(withChanges({ signature: withoutKeyId }), ALLOWED)).not.toThrow();
  });

  it.each<[string, unknown, string]>([
    ['a string', 'c2lnbmVk', 'signature must be a JSON object'],
    ['another algorithm', { ...valid, algorithm: 'HMAC-SHA1' }, 'signature.algorithm'],
    ['no signedAt', { algorithm: valid.algorithm, value: valid.value }, 'signedAt'],
    ['a signedAt that is no time', { ...valid, signedAt: 'yesterday' }, 'signature.signedAt'],
    [
      'a MAC of 31 bytes',
      { ...valid, value: `${'A'.repeat(40)}==` },
      'signature.value must be the base64 of 32 bytes',
    ],
    ['a keyId that is no version', { ...valid, keyId: 'v1' }, 'signature.keyId must be the 32 hex digits'],
    ['an unknown member', { ...valid, nonce: '1' }, 'nonce'],
  ])('refuses %s as INVALID_REQUEST naming the field', (_label, signature, fragment) => {
    const error = refusal(withChanges({ signature }));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toContain(fragment);
  });
});

describe('parseRequestMessage: several problems', () => {
  // [what is wrong, changes, expected code, the problems in the order the message must list them]
  const cases: [string, Record<string, unknown>, string[], ErrorCode, string[]][] = [
    [
      'wrong schemaVersion before a bad CA',
      { schemaVersion: 2, certificateAuthority: 'https://pki-ws.symauth.com/' },
      [],
      'INVALID_REQUEST',
      ['schemaVersion', 'certificateAuthority'],
    ],
    [
      'missing requestId before a bad CA name',
      { certificateAuthorityName: 'DigiCert' },
      ['requestId'],
      'INVALID_REQUEST',
      ['requestId is required', 'certificateAuthorityName'],
    ],
    [
      'CA before CA name, template and other fields',
      {
        subjectName: '',
        certificateTemplateName: 'WebServer',
        certificateAuthorityName: 'DigiCert',
        certificateAuthority: 'https://pki-ws.symauth.com/',
      },
      [],
      'CA_NOT_ALLOWED',
      ['certificateAuthority', 'certificateAuthorityName', 'certificateTemplateName'],
    ],
    [
      'an unlisted CA before a bad CA name',
      { certificateAuthorityName: 'DigiCert', certificateAuthority: 'other.example' },
      [],
      'CA_NOT_ALLOWED',
      ['certificateAuthority "other.example" is not listed in CA_ALLOWED_HOSTS', 'certificateAuthorityName'],
    ],
    [
      'CA name before template',
      { certificateTemplateName: 'WebServer', certificateAuthorityName: 'DigiCert' },
      [],
      'CA_NAME_INVALID',
      ['certificateAuthorityName', 'certificateTemplateName'],
    ],
    [
      'template before other fields',
      { keySize: 1, extraField: true, certificateTemplateName: 'WebServer' },
      [],
      'TEMPLATE_INVALID',
      ['certificateTemplateName', 'keySize', 'extraField'],
    ],
    [
      'other fields before an oversized context',
      { context: { pad: 'x'.repeat(5000) }, keySize: 1 },
      ['recipientCertificate'],
      'INVALID_REQUEST',
      ['recipientCertificate is required', 'keySize', 'context is'],
    ],
  ];

  it.each(cases)('orders %s', (_label, changes, remove, code, ordered) => {
    const error = refusal(withChanges(changes, remove));
    expect(error.code).toBe(code);
    expect(error.message.startsWith(ordered[0])).toBe(true);
    const positions = ordered.map((fragment) => error.message.indexOf(fragment));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('lists at most three problems and counts the rest', () => {
    const error = refusal(
      withChanges({
        certificateAuthority: 'https://pki-ws.symauth.com/',
        certificateAuthorityName: 'DigiCert',
        certificateTemplateName: 'WebServer',
        subjectName: '',
        keySize: 1,
      }),
    );
    expect(error.code).toBe('CA_NOT_ALLOWED');
    expect(error.message.split('; ')).toHaveLength(4);
    expect(error.message).toMatch(/; and 2 more problems$/);
    expect(error.message).not.toContain('subjectName');
  });
});

describe('readRequestIdLoosely', () => {
  const id = '6f1c2c3e-1d7a-4a55-9d7f-2f0e9b9e7a10';
  it.each<[string, unknown, string | null]>([
    ['a valid request', JSON.stringify(contractExample()), id],
    ['a request that breaks other rules', JSON.stringify(withChanges({ keySize: 1, schemaVersion: 9 })), id],
    ['text with a BOM', '\uFEFF' + JSON.stringify({ requestId: 'r-1' }), 'r-1'],
    ['an object', { requestId: 'r-2' }, 'r-2'],
    ['an id breaking the id rule', JSON.stringify({ requestId: 'a b' }), null],
    ['an id of 65 characters', JSON.stringify({ requestId: 'a'.repeat(65) }), null],
    ['a numeric id', JSON.stringify({ requestId: 42 }), null],
    ['no id', JSON.stringify({ schemaVersion: 1 }), null],
    ['text that is not JSON', '{"requestId": "r-3"', null],
    ['a JSON array', JSON.stringify([{ requestId: 'r-4' }]), null],
    ['nothing', undefined, null],
  ])('reads %s', (_label, body, expected) => {
    expect(readRequestIdLoosely(body)).toBe(expected);
  });
});

describe('readContextLoosely', () => {
  const context = { deviceId: 'device-42' };
  it.each<[string, unknown, Record<string, unknown> | undefined]>([
    ['a valid request', JSON.stringify(contractExample()), { deviceId: 'device-42', userId: 'user-7' }],
    ['a request that breaks other rules', JSON.stringify({ requestId: 'a b', context }), context],
    ['an object', { context }, context],
    ['a context over 4 KB', JSON.stringify({ context: { pad: 'x'.repeat(CONTEXT_MAX_BYTES) } }), undefined],
    ['a context that is an array', JSON.stringify({ context: [1] }), undefined],
    ['a context that is text', JSON.stringify({ context: 'x' }), undefined],
    ['no context', JSON.stringify({ requestId: 'r' }), undefined],
    ['text that is not JSON', '{"context": {}', undefined],
  ])('reads %s', (_label, body, expected) => {
    expect(readContextLoosely(body)).toEqual(expected);
  });
});
