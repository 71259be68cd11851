/**
 * The subject parser on arbitrary text and on DN-shaped text made of keys, metacharacters, escapes and
 * hostile characters; the mapping on requests the validator accepts. Each ends in a value or a BrokerError.
 */
import { BrokerError } from '../../../shared/contract/errors';
import { parseRequestMessage } from '../../../shared/contract/validate';
import { parseSubjectName, planEnrollment } from '../../../shared/mapping';
import { ALLOWED, baseRequest } from '../hostile/corpus';
import { firstLastNamePolicy, intuneUserPolicy, sidUserPolicy } from '../mapping/fixtures';
import { fc, onlyThrows } from './settings';

const dnPiece = fc.oneof(
  fc.constantFrom('CN', 'cn', 'E', 'EMAIL', 'OID.2.5.4.3', '1.2.840.113549.1.9.1', 'OU', 'O'),
  fc.constantFrom('=', ',', ';', '+', '\\', '"', '#', ' ', '@', '.', '<', '&', ']]>'),
  fc.constantFrom('\\2C', '\\C3\\A9', '\\00', '\\E2\\80\\AE', '\\C3', '\\ZZ', '\u202e', '\u200b', '\u0000'),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.emailAddress(),
);
const dnLike = fc.array(dnPiece, { maxLength: 16 }).map((pieces) => pieces.join(''));

describe('parseSubjectName', () => {
  it('returns a subject or throws a BrokerError for any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), dnLike), (subject) => {
        onlyThrows(() => parseSubjectName(subject), BrokerError);
      }),
    );
  });

  it('gives back a CN it accepts within 64 characters and free of control characters', () => {
    fc.assert(
      fc.property(dnLike, (subject) => {
        let commonName: string;
        try {
          commonName = parseSubjectName(subject).commonName;
        } catch (error) {
          if (error instanceof BrokerError) return;
          throw error;
        }
        expect(Array.from(commonName).length).toBeLessThanOrEqual(64);
        // eslint-disable-next-line no-control-regex -- the property under test
        expect(commonName).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u200b]/u);
      }),
    );
  });
});

describe('planEnrollment on requests the validator accepts', () => {
  const policies = [intuneUserPolicy(), firstLastNamePolicy(), sidUserPolicy()];
  const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 70 });
  const address = fc.oneof(
    fc.emailAddress(),
    fc.tuple(name, name).map(([local, domain]) => `${local}@${domain}`),
  );
  const request = fc
    .record({
      subjectName: fc.oneof(
        name.map((cn) => `CN=${cn}`),
        fc.tuple(name, address).map(([cn, mail]) => `CN=${cn},E=${mail}`),
        address.map((mail) => `CN=${mail}`),
        dnLike,
      ),
      sans: fc.array(
        fc.record({ type: fc.constantFrom('AltNameTypeEmail', 'AltNameTypeUpn'), value: address }),
        { maxLength: 3 },
      ),
      securityIdentifier: fc.option(fc.constant('S-1-5-21-3623811015-3361044348-30300820-1013'), {
        nil: undefined,
      }),
    })
    .map(({ subjectName, sans, securityIdentifier }) => ({
      ...baseRequest(),
      subjectName,
      subjectAlternativeNames: sans,
      ...(securityIdentifier === undefined ? {} : { securityIdentifier }),
    }));

  it('returns a plan or throws a BrokerError, whatever the profile', () => {
    fc.assert(
      fc.property(request, fc.constantFrom(...policies), (body, policy) => {
        let parsed;
        try {
          parsed = parseRequestMessage(body, ALLOWED);
        } catch (error) {
          if (error instanceof BrokerError) return;
          throw error;
        }
        onlyThrows(() => planEnrollment(parsed, policy), BrokerError);
      }),
    );
  });
});
