import type { ErrorCode } from '../../../../shared/contract/errors';
import { classifyFault } from '../../../../shared/digicert/faults/soapFault';
import type { SoapFault } from '../../../../shared/digicert/soap';
import { context } from './fixtures';

function fault(
  faultString: string,
  detailMessage?: string,
  code = 'soapenv:Client',
  errorCode?: string,
): SoapFault {
  const result: SoapFault = {
    code,
    codeLocalName: code.slice(code.indexOf(':') + 1),
    faultString,
    detailText: [errorCode, detailMessage].filter(Boolean).join(' '),
  };
  if (detailMessage !== undefined) result.detailMessage = detailMessage;
  if (errorCode !== undefined) result.errorCode = errorCode;
  return result;
}

describe('classifyFault', () => {
  const table: [string, SoapFault, ErrorCode, boolean][] = [
    ['element not understood', fault('A request element was not understood.'), 'PROFILE_NOT_FOUND', false],
    [
      'profile OID not valid',
      fault('Validation failed', 'Certificate profile OID 1.2.3 is not valid for this account.'),
      'PROFILE_NOT_FOUND',
      false,
    ],
    ['unknown profile', fault('Unknown certificate profile 1.2.3'), 'PROFILE_NOT_FOUND', false],
    [
      'unsupported attribute',
      fault(
        'Policy verification failed.',
        'The attribute is not in the list of DigiCert supported attributes for certificate templates.',
      ),
      'POLICY_MISMATCH',
      false,
    ],
    ['mandatory missing', fault('Mandatory attribute common_name is missing'), 'POLICY_MISMATCH', false],
    [
      'name characters',
      fault('Invalid value', 'Special characters are not allowed in mail_firstname'),
      'NAME_CHARACTERS_UNSUPPORTED',
      false,
    ],
    [
      'name characters, capital N',
      fault('mail_lastName contains an invalid character: _'),
      'NAME_CHARACTERS_UNSUPPORTED',
      false,
    ],
    [
      'server busy',
      fault('Server busy, try again later', undefined, 'soapenv:Server'),
      'CA_UNAVAILABLE',
      true,
    ],
    [
      'receiver unavailable (SOAP 1.2)',
      fault('Service temporarily unavailable', undefined, 'env:Receiver'),
      'CA_UNAVAILABLE',
      true,
    ],
    [
      'client fault that reads transient',
      fault('Busy seat, try again', undefined, 'soapenv:Client'),
      'CA_REJECTED',
      false,
    ],
    [
      'server error',
      fault('Internal error while processing the request', undefined, 'soapenv:Server'),
      'CA_REJECTED',
      false,
    ],
    [
      'anything else',
      fault(
        'Duplicate certificate for seat',
        'Seat already holds a valid certificate',
        'soapenv:Client',
        '2101',
      ),
      'CA_REJECTED',
      false,
    ],
  ];

  it.each(table)('%s', (_label, soapFault, code, retryable) => {
    const error = classifyFault(soapFault, context);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.caMessage).toContain(soapFault.faultString);
    if (soapFault.detailMessage !== undefined) expect(error.caMessage).toContain(soapFault.detailMessage);
    expect(error.message).toContain('ca.fabrikam.test');
  });

  it('puts faultstring, detail message and errorcode in caMessage', () => {
    const error = classifyFault(
      fault('Rejected', 'Seat already holds a valid certificate', 'soapenv:Client', '2101'),
      context,
    );
    expect(error.caMessage).toBe('Rejected — Seat already holds a valid certificate (errorcode 2101)');
  });

  it('names the profile in PROFILE_NOT_FOUND', () => {
    expect(classifyFault(fault('A request element was not understood.'), context).message).toContain(
      context.profileOid,
    );
  });
});
