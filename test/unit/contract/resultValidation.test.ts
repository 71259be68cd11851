import { BrokerError, ERROR_CODES } from '../../../shared/contract/errors';
import type { FailedResult, IssuedResult } from '../../../shared/contract/types';
import { REQUEST_SCHEMA_ID, RESULT_SCHEMA_ID, validateResult } from '../../../shared/contract/validate';
import resultSchema from '../../../shared/contract/schemas/result.v1.schema.json';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';

function issuedExample(): IssuedResult {
  return {
    schemaVersion: 1,
    requestId: '6f1c2c3e-1d7a-4a55-9d7f-2f0e9b9e7a10',
    status: 'issued',
    completedAt: '2026-11-26T15:00:00.000Z',
    certificate: {
      serialNumber: '4F2A0C11D3',
      thumbprint: 'EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5',
      subject: 'CN=IWUser0, E=IWUser0@contoso.onmicrosoft.com',
      issuer: 'CN=Contoso Issuing CA',
      notBefore: '2026-11-26T14:55:00.000Z',
      notAfter: '2027-11-26T14:55:00.000Z',
      pem: PEM,
      chainPem: [PEM],
    },
    pfx: {
      data: 'MIIKcQIBAzCCCjcGCSqGSIb3DQEHAaCCCigEggokMIIKIDCCBNcGCSqGSIb3DQEHBqCCBMgw',
      password: {
        algorithm: 'RSA-OAEP-256',
        recipientThumbprint: '0A1B2C3D4E5F60718293A4B5C6D7E8F901234567',
        encryptedValue: 'q83vEjRWeJq83vEjRWeJ',
      },
    },
    context: { deviceId: 'device-42', userId: 'user-7' },
  };
}

function failedExample(): FailedResult {
  return {
    schemaVersion: 1,
    requestId: '6f1c2c3e-1d7a-4a55-9d7f-2f0e9b9e7a10',
    status: 'failed',
    completedAt: '2026-11-26T15:00:00.000Z',
    error: {
      code: 'POLICY_MISMATCH',
      message: 'the DigiCert profile asks for $ou, which the request cannot supply',
      remedy: 'Fix $ou to a constant value in the DigiCert profile.',
      retryable: false,
      caMessage: 'Missing required field ou',
    },
    context: { deviceId: 'device-42' },
  };
}

const REMOVE = Symbol('remove');

/**
 * A deep copy of `base` with `changes` applied: keys are dotted paths (`error.code`, `certificate.chainPem`),
 * values replace what is there, REMOVE deletes it.
 */
function broken(base: IssuedResult | FailedResult, changes: Record<string, unknown>): unknown {
  const copy: unknown = structuredClone(base);
  for (const [path, value] of Object.entries(changes)) {
    const names = path.split('.');
    const last = names.pop() ?? '';
    let target: unknown = copy;
    for (const name of names) target = isRecord(target) ? target[name] : undefined;
    if (!isRecord(target)) throw new Error(`no object at ${path}`);
    if (value === REMOVE) delete target[last];
    else target[last] = value;
  }
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

describe('validateResult', () => {
  it.each<[string, unknown]>([
    ['the issued example', issuedExample()],
    ['the failed example', failedExample()],
    [
      'an issued result without context and chain',
      broken(issuedExample(), { context: REMOVE, 'certificate.chainPem': [] }),
    ],
    ['a failed result without caMessage', broken(failedExample(), { 'error.caMessage': REMOVE })],
    [
      'a failed result for a message without a readable requestId',
      broken(failedExample(), { requestId: null }),
    ],
    ['a failed result that is retryable', broken(failedExample(), { 'error.retryable': true })],
  ])('accepts %s', (_label, result) => {
    expect(validateResult(result)).toEqual({ valid: true });
  });

  it('accepts a failed result for every contract error code', () => {
    for (const code of ERROR_CODES) {
      const error = new BrokerError(code, `something about ${code}`);
      const result = broken(failedExample(), {
        error: { code: error.code, message: error.message, remedy: error.remedy, retryable: error.retryable },
      });
      expect(validateResult(result)).toEqual({ valid: true });
    }
  });

  // [what is broken, result, a fragment one of the errors must contain]
  const brokenResults: [string, unknown, string][] = [
    ['not an object', 'issued', 'the message must be a JSON object, not a string'],
    ['no status', broken(issuedExample(), { status: REMOVE }), 'status is required'],
    [
      'an unknown status',
      broken(issuedExample(), { status: 'pending' }),
      'status must be one of issued, failed',
    ],
    ['schemaVersion 2', broken(issuedExample(), { schemaVersion: 2 }), 'schemaVersion must be 1'],
    [
      'an issued result without requestId',
      broken(issuedExample(), { requestId: null }),
      'requestId must be a string, not null',
    ],
    [
      'a requestId breaking the id rule',
      broken(failedExample(), { requestId: 'a b' }),
      'requestId must be 1 to 64 characters',
    ],
    [
      'completedAt not a date',
      broken(failedExample(), { completedAt: 'yesterday' }),
      'completedAt must be a date and time',
    ],
    ['an issued result without pfx', broken(issuedExample(), { pfx: REMOVE }), 'pfx is required'],
    [
      'an issued result with an error',
      broken(issuedExample(), { error: failedExample().error }),
      'error is not a field of the result',
    ],
    [
      'a failed result with a certificate',
      broken(failedExample(), { certificate: issuedExample().certificate }),
      'certificate is not a field of the result',
    ],
    ['a failed result without error', broken(failedExample(), { error: REMOVE }), 'error is required'],
    [
      'an unknown error code',
      broken(failedExample(), { 'error.code': 'OOPS' }),
      'error.code must be one of INVALID_REQUEST',
    ],
    [
      'an empty error message',
      broken(failedExample(), { 'error.message': '' }),
      'error.message must not be empty',
    ],
    ['no remedy', broken(failedExample(), { 'error.remedy': REMOVE }), 'error.remedy is required'],
    [
      'retryable as text',
      broken(failedExample(), { 'error.retryable': 'no' }),
      'error.retryable must be true or false',
    ],
    [
      'a short thumbprint',
      broken(issuedExample(), { 'certificate.thumbprint': 'EA7A4E' }),
      'certificate.thumbprint must be a SHA-1 thumbprint',
    ],
    [
      'a serial number with colons',
      broken(issuedExample(), { 'certificate.serialNumber': '4F:2A' }),
      'certificate.serialNumber must be the serial number in hexadecimal',
    ],
    [
      'a chain entry that is not PEM',
      broken(issuedExample(), { 'certificate.chainPem': ['MIIB'] }),
      'certificate.chainPem[0] must be a PEM certificate',
    ],
    [
      'notAfter not a date',
      broken(issuedExample(), { 'certificate.notAfter': 'Nov 26 2027' }),
      'certificate.notAfter must be a date and time',
    ],
    [
      'pfx data with line breaks',
      broken(issuedExample(), { 'pfx.data': 'MIIK\ncQIB' }),
      'pfx.data must be standard base64',
    ],
    [
      'another password algorithm',
      broken(issuedExample(), { 'pfx.password.algorithm': 'RSA-PKCS1' }),
      'pfx.password.algorithm must be "RSA-OAEP-256"',
    ],
    [
      'the password in clear',
      broken(issuedExample(), { 'pfx.password.value': 'secret' }),
      'pfx.password.value is not a field of pfx.password',
    ],
    [
      'context as an array',
      broken(failedExample(), { context: [] }),
      'context must be a JSON object, not an array',
    ],
  ];

  it.each(brokenResults)('refuses %s', (_label, result, fragment) => {
    const validation = validateResult(result);
    expect(validation.valid).toBe(false);
    const errors = validation.valid ? [] : validation.errors;
    expect(errors.some((error) => error.includes(fragment))).toBe(true);
  });

  it('names only the shape its status selects', () => {
    const validation = validateResult(broken(failedExample(), { 'error.code': 'OOPS' }));
    expect(validation).toEqual({
      valid: false,
      errors: [expect.stringContaining('error.code must be one of')],
    });
  });
});

describe('published schemas', () => {
  it('have stable ids, and the result schema lists exactly the contract error codes', () => {
    expect(REQUEST_SCHEMA_ID).toBe('https://schemas.contoso-pki.example/pkcs-broker/request.v1.schema.json');
    expect(RESULT_SCHEMA_ID).toBe('https://schemas.contoso-pki.example/pkcs-broker/result.v1.schema.json');
    expect(resultSchema.$defs.error.properties.code.enum).toEqual([...ERROR_CODES]);
  });
});
