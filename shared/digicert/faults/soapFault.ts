/** A SOAP fault from the CA turned into a BrokerError, by what its words say (caWording.ts) and its code. */
import { BrokerError, BrokerErrorDetail } from '../../contract/errors';
import type { SoapFault } from '../soap';
import { CallContext, callError } from './callContext';
import { classifyFaultWording } from './caWording';

/** Words of a server-side fault that say the CA may serve again soon. */
const TRANSIENT = /temporar|try again|retry later|\bbusy\b|unavailable|overload|maintenance|timed? ?out/i;

function caWords(fault: SoapFault): string {
  const parts = [fault.faultString];
  if (fault.detailMessage !== undefined && fault.detailMessage !== fault.faultString) {
    parts.push(fault.detailMessage);
  } else if (fault.detailMessage === undefined && fault.detailText !== '') {
    parts.push(fault.detailText);
  }
  const words = parts.filter((part) => part !== '').join(' — ');
  const withCode = fault.errorCode === undefined ? words : `${words} (errorcode ${fault.errorCode})`;
  return withCode === '' ? `SOAP fault ${fault.code}` : withCode;
}

/** Classifies a SOAP fault by its code and words; `detail` (the answer's Retry-After) goes on the error. */
export function classifyFault(
  fault: SoapFault,
  context: CallContext,
  detail?: BrokerErrorDetail,
): BrokerError {
  const caMessage = caWords(fault);
  const parts = [fault.faultString, fault.detailMessage ?? '', fault.detailText, fault.errorCode ?? ''];
  const quoted = `"${caMessage}"`;

  switch (classifyFaultWording(parts)) {
    case 'NAME_CHARACTERS_UNSUPPORTED':
      return callError(
        'NAME_CHARACTERS_UNSUPPORTED',
        context,
        `the CA refuses the characters of a first or last name (mail_firstname/mail_lastname): ${quoted}`,
        { caMessage, detail },
      );
    case 'PROFILE_NOT_FOUND': {
      const profile =
        context.profileOid === undefined ? 'the certificate profile' : `profile ${context.profileOid}`;
      return callError('PROFILE_NOT_FOUND', context, `the CA does not know ${profile}: ${quoted}`, {
        caMessage,
        detail,
      });
    }
    case 'POLICY_MISMATCH':
      return callError(
        'POLICY_MISMATCH',
        context,
        `the CA's policy verification refused the request's attributes: ${quoted}`,
        { caMessage, detail },
      );
    case undefined:
      break;
  }
  const serverSide = ['server', 'receiver'].includes(fault.codeLocalName.toLowerCase());
  if (serverSide && TRANSIENT.test(parts.join(' \n '))) {
    return callError('CA_UNAVAILABLE', context, `the CA is temporarily unable to serve: ${quoted}`, {
      caMessage,
      retryable: true,
      detail,
    });
  }
  return callError('CA_REJECTED', context, `the CA refused the request: ${quoted}`, { caMessage, detail });
}
