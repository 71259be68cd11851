import type { ErrorCode } from '../../../../shared/contract/errors';
import { classifyFaultWording } from '../../../../shared/digicert/faults/caWording';
import { interpretHttpAnswer } from '../../../../shared/digicert/faults/httpAnswer';
import { context } from './fixtures';

/** A SOAP 1.1 fault as a CA could send it; the detail layout and prefixes vary between cases. */
function faultEnvelope(
  faultString: string,
  detail?: { message: string; errorCode?: string; style?: string },
): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let detailXml = '';
  if (detail !== undefined) {
    const code = detail.errorCode === undefined ? '' : `<errorcode>${detail.errorCode}</errorcode>`;
    detailXml =
      detail.style === 'vendor'
        ? `<detail><v:PkiFault xmlns:v="urn:test:vendor"><v:ErrorCode>${detail.errorCode ?? ''}</v:ErrorCode><v:Message>${escape(detail.message)}</v:Message></v:PkiFault></detail>`
        : `<detail>${code}<message>${escape(detail.message)}</message></detail>`;
  }
  return (
    `<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">` +
    `<SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>` +
    `<faultstring>${escape(faultString)}</faultstring>${detailXml}</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`
  );
}

describe('fault words through interpretHttpAnswer: the specific class wins over the generic one', () => {
  const NOT_UNDERSTOOD = 'A request element was not understood.';
  const classify = (bodyText: string): ErrorCode => {
    const outcome = interpretHttpAnswer({ status: 500, headers: {}, bodyText }, context, 0);
    if (outcome.ok) throw new Error('expected a failure');
    return outcome.error.code;
  };

  const cases: [
    string,
    string,
    { message: string; errorCode?: string; style?: string } | undefined,
    ErrorCode,
  ][] = [
    // An attribute problem in the detail beats the generic faultstring.
    [
      'not understood + missing mandatory attribute',
      NOT_UNDERSTOOD,
      { message: 'Mandatory attribute mail_email is missing', errorCode: '1003' },
      'POLICY_MISMATCH',
    ],
    [
      'not understood + missing attribute, vendor detail',
      NOT_UNDERSTOOD,
      { message: 'Mandatory attribute mail_email is missing', errorCode: '1003', style: 'vendor' },
      'POLICY_MISMATCH',
    ],
    [
      'profile requires an attribute that was not found',
      'The certificate profile requires attribute mail_email which was not found',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'not understood + profile requires attribute',
      NOT_UNDERSTOOD,
      { message: 'The certificate profile requires attribute mail_email which was not found' },
      'POLICY_MISMATCH',
    ],
    ['value is required', 'Value for mail_email is required', undefined, 'POLICY_MISMATCH'],
    ['cannot be empty', 'mail_email cannot be empty', undefined, 'POLICY_MISMATCH'],
    ['not provided', 'Attribute mail_email not provided', undefined, 'POLICY_MISMATCH'],
    [
      'not understood + nameValuePair not recognised',
      NOT_UNDERSTOOD,
      { message: 'nameValuePair otherNameGUID is not recognized' },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, English',
      'Policy verification failed.',
      {
        message:
          'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, English, behind "not understood"',
      NOT_UNDERSTOOD,
      {
        message:
          'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, Dutch',
      'Verificatie van beleid is mislukt.',
      {
        message:
          'Het kenmerk staat niet op de lijst met in DigiCert ondersteunde kenmerken voor certificaatsjablonen.',
      },
      'POLICY_MISMATCH',
    ],
    [
      'the seed, Dutch, sentence alone',
      'Het kenmerk staat niet op de lijst met in DigiCert ondersteunde kenmerken voor certificaatsjablonen.',
      undefined,
      'POLICY_MISMATCH',
    ],
    // Profiles the CA does not know.
    [
      'no policy for the OID',
      'No policy found for OID 2.16.840.1.113733.1.16.1.2.3.1.1.5',
      undefined,
      'PROFILE_NOT_FOUND',
    ],
    [
      'profile does not exist',
      'Certificate profile 2.16.840.1.113733.1.16.1.2.3.1.1.5 does not exist',
      undefined,
      'PROFILE_NOT_FOUND',
    ],
    ['invalid profile OID', 'Invalid certificate profile OID', undefined, 'PROFILE_NOT_FOUND'],
    [
      'not understood + profile OID not valid (the team sample)',
      NOT_UNDERSTOOD,
      {
        message:
          'Certificate profile OID 2.16.840.1.113733.1.16.1.2.3.1.1.99999999 is not valid for this account.',
        errorCode: '1003',
      },
      'PROFILE_NOT_FOUND',
    ],
    [
      'not understood + no policy found',
      NOT_UNDERSTOOD,
      { message: 'No policy found for OID 2.16.840.1.113733.1.16.1.2.3.1.1.5' },
      'PROFILE_NOT_FOUND',
    ],
    ['not understood alone', NOT_UNDERSTOOD, undefined, 'PROFILE_NOT_FOUND'],
    ['not understood alone, Dutch', 'Een aanvraagelement is niet begrepen.', undefined, 'PROFILE_NOT_FOUND'],
    // Characters of a first or last name.
    [
      'first name in words',
      'First name contains invalid characters',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'mail firstName with a space',
      'mail firstName contains unsupported characters',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'validation failed, contains _',
      'Validation failed for mail_firstName: contains _',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'special characters in mail_lastname',
      'special characters are not allowed in mail_lastname',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'not understood + special characters in mail_lastname',
      NOT_UNDERSTOOD,
      { message: 'special characters are not allowed in mail_lastname' },
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    [
      'special characters, no field named',
      'Special characters are not supported',
      undefined,
      'NAME_CHARACTERS_UNSUPPORTED',
    ],
    // Look-alikes that must not become a character problem.
    [
      'missing first name is an attribute problem',
      'Mandatory attribute mail_firstName is missing',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'a first-name field the profile lacks',
      'Attribute mail_firstName is not supported by this profile',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'invalid characters in another field',
      'common_name contains invalid characters',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'not understood + an invalid certificateProfileID value',
      NOT_UNDERSTOOD,
      { message: 'Element certificateProfileID value 1.2.3 is invalid' },
      'PROFILE_NOT_FOUND',
    ],
    ['unknown certificateProfileID', 'Unknown certificateProfileID', undefined, 'PROFILE_NOT_FOUND'],
    [
      'no policy for the profile OID',
      'Account has no policy for profile OID 1.2.3',
      undefined,
      'PROFILE_NOT_FOUND',
    ],
    [
      'an attribute problem next to a profile ID',
      'The profile ID 5 requires attribute mail_email which is missing',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'a value the attribute does not accept',
      'Request rejected',
      { message: 'mail_email: value is not a valid e-mail address' },
      'POLICY_MISMATCH',
    ],
    [
      'subject format the profile refuses',
      'Subject DN does not match the profile',
      undefined,
      'POLICY_MISMATCH',
    ],
    [
      'unrelated refusal',
      'Duplicate certificate for seat',
      { message: 'Seat already holds a valid certificate', errorCode: '2101' },
      'CA_REJECTED',
    ],
    [
      'an all-capitals error constant is no attribute',
      'ERR_SEAT_QUOTA: quota exceeded',
      undefined,
      'CA_REJECTED',
    ],
  ];

  it.each(cases)('%s', (_label, faultString, detail, code) => {
    expect(classify(faultEnvelope(faultString, detail))).toBe(code);
  });
});

describe('classifyFaultWording, on its own', () => {
  it('leaves words that name no known refusal to the fault code', () => {
    expect(classifyFaultWording(['Internal server error', '', 'E1234'])).toBeUndefined();
    expect(classifyFaultWording([])).toBeUndefined();
  });

  it('lets a specific part win over a generic one, whatever their order', () => {
    const generic = 'A request element was not understood.';
    const specific = 'mail_firstName contains invalid characters';
    expect(classifyFaultWording([generic, specific])).toBe('NAME_CHARACTERS_UNSUPPORTED');
    expect(classifyFaultWording([specific, generic])).toBe('NAME_CHARACTERS_UNSUPPORTED');
    expect(classifyFaultWording([generic])).toBe('PROFILE_NOT_FOUND');
  });
});
