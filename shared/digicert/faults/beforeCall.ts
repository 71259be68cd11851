/** Errors raised before any network: a CA host not allowed, no RA credential, values PKI-WS cannot carry. */
import { BrokerError } from '../../contract/errors';
import { CallContext, callError } from './callContext';

export function notAllowedError(caHost: string, reason: string): BrokerError {
  return new BrokerError('CA_NOT_ALLOWED', `certificateAuthority "${caHost}" ${reason}`);
}

export function credentialError(cause: unknown): BrokerError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BrokerError('RA_CERT_UNAVAILABLE', `the RA certificate could not be loaded: ${detail}`, {
    retryable: true,
    cause,
  });
}

export function transactionIdError(context: CallContext, length: number): BrokerError {
  return callError(
    'INVALID_REQUEST',
    context,
    `clientTransactionID is ${length} characters long; PKI-WS accepts at most 40`,
    {
      remedy: 'Use a request identifier of at most 40 characters (a UUID fits).',
    },
  );
}

export function unsendableValueError(context: CallContext, field: string, problem: string): BrokerError {
  return callError('INVALID_REQUEST', context, `${field} cannot be sent to the CA: ${problem}`, {
    remedy: `Remove the character from ${field} in the request or the user's directory data.`,
  });
}
