/**
 * The request and revocation validators on arbitrary input: a valid message, or a BrokerError with one of the
 * validation codes, and never another exception. Arbitrary JSON is one source; the contract example with one
 * field replaced by arbitrary JSON (or arbitrary text) is the other, since it gets past the first checks.
 */
import { BrokerError } from '../../../shared/contract/errors';
import { findDuplicateKey } from '../../../shared/contract/jsonKeys';
import { parseRequestMessage } from '../../../shared/contract/validate';
import { parseRevocationMessage } from '../../../shared/contract/validateRevocation';
import { ALLOWED, baseRequest, baseRevocation } from '../hostile/corpus';
import { fc } from './settings';

const VALIDATION_CODES = new Set([
  'INVALID_REQUEST',
  'CA_NOT_ALLOWED',
  'CA_NAME_INVALID',
  'TEMPLATE_INVALID',
]);

function validatesOrRefuses(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof BrokerError)) throw error;
    expect(VALIDATION_CODES.has(error.code)).toBe(true);
    expect(error.message.length).toBeLessThan(4000);
  }
}

const anyText = fc.string({ unit: 'binary', maxLength: 300 });
const anyJson = fc.jsonValue({ maxDepth: 6 });

function withField(base: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .tuple(
      fc.constantFrom(...Object.keys(base), '__proto__', 'constructor', 'extra'),
      fc.oneof(anyJson, anyText),
    )
    .map(([field, value]) => ({ ...base, [field]: value }));
}

describe('parseRequestMessage on arbitrary input', () => {
  it('refuses arbitrary JSON values and text with a validation error only', () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, anyText, fc.json({ maxDepth: 6 })), (body) => {
        validatesOrRefuses(() => parseRequestMessage(body, ALLOWED));
      }),
    );
  });

  it('handles a request with one field replaced, as an object and as text', () => {
    fc.assert(
      fc.property(withField(baseRequest()), (request) => {
        validatesOrRefuses(() => parseRequestMessage(request, ALLOWED));
        validatesOrRefuses(() => parseRequestMessage(JSON.stringify(request), ALLOWED));
      }),
    );
  });

  it('handles arbitrary SAN entries', () => {
    const entry = fc.record(
      {
        type: fc.constantFrom('AltNameTypeEmail', 'AltNameTypeUpn', 'AltNameTypeOtherName', 'Other'),
        value: fc.oneof(anyText, fc.emailAddress(), anyJson),
        oid: fc.oneof(fc.constant('1.3.6.1.4.1.311.25.1'), anyText),
      },
      { requiredKeys: ['type'] },
    );
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 20 }), (subjectAlternativeNames) => {
        validatesOrRefuses(() => parseRequestMessage({ ...baseRequest(), subjectAlternativeNames }, ALLOWED));
      }),
    );
  });
});

describe('parseRevocationMessage on arbitrary input', () => {
  it('refuses arbitrary input, or a revocation with one field replaced, with a validation error only', () => {
    fc.assert(
      fc.property(fc.oneof(anyJson, anyText, withField(baseRevocation())), (body) => {
        validatesOrRefuses(() => parseRevocationMessage(body, ALLOWED));
      }),
    );
  });
});

describe('findDuplicateKey', () => {
  it('finds none in serialized JSON, and finds a key repeated in any object of it', () => {
    const keyed = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }), { minKeys: 1 });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), keyed, (value, object) => {
        expect(findDuplicateKey(JSON.stringify(value))).toBeUndefined();
        const [key] = Object.keys(object);
        const text = JSON.stringify([value, object]);
        const repeated = `${text.slice(0, -2)},${JSON.stringify(key)}:0}]`;
        expect(findDuplicateKey(repeated)?.key).toBe(key);
      }),
    );
  });
});
