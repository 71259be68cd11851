/** Answers that parse but do not say what they should: no policy for the profile, approval pending, DOWN. */
import { BrokerError, DEFAULT_REMEDIES } from '../../contract/errors';
import { CallContext, callError } from './callContext';

export function unexpectedAnswerError(
  context: CallContext,
  problem: string,
  caMessage?: string,
): BrokerError {
  return callError('CA_REJECTED', context, `the answer could not be understood: ${problem}`, {
    caMessage: caMessage ?? problem,
    remedy: `${DEFAULT_REMEDIES.CA_REJECTED} If the answer looks unrelated to PKI-WS, check that ${context.caHost} is the DigiCert PKI-WS host of your account.`,
  });
}

export function profileNotInPolicyError(
  context: CallContext,
  profileOid: string,
  known: string[],
): BrokerError {
  const offered = known.length === 0 ? 'no policy at all' : `policies for ${known.join(', ')} only`;
  return callError(
    'PROFILE_NOT_FOUND',
    context,
    `the CA has no policy for certificate profile ${profileOid} (it returned ${offered})`,
    { caMessage: `no policy for ${profileOid}` },
  );
}

export function pendingApprovalError(
  context: CallContext,
  reference: string,
  disposition?: string,
): BrokerError {
  const caMessage =
    disposition === undefined
      ? `pendingTokenReferenceID ${reference}`
      : `${disposition} (pendingTokenReferenceID ${reference})`;
  return callError(
    'CA_REJECTED',
    context,
    `the CA did not issue the certificate: the request waits for approval (reference ${reference})`,
    {
      caMessage,
      remedy:
        'The DigiCert certificate profile requires administrator approval, which an Intune PKCS enrollment cannot wait for. Turn off manual approval in the DigiCert profile used for Intune, then resubmit the request.',
    },
  );
}

/** A refusal whose words say the certificate is revoked already: for a Revoke, the wanted state. */
const ALREADY_REVOKED =
  // eslint-disable-next-line security/detect-unsafe-regex -- alternatives of fixed words separated by \s+: linear
  /\balready\s+(?:been\s+)?revoked\b|\b(?:is|was|has\s+been)\s+(?:already\s+)?revoked\b|\bstatus\s+(?:is\s+)?REVOKED\b/i;

/** Whether a failed Revoke says the certificate is revoked already (a fault or a negative successCode). */
export function saysAlreadyRevoked(failed: BrokerError): boolean {
  if (failed.code === 'CA_TIMEOUT' || failed.code === 'CA_UNAVAILABLE') return false;
  return failed.caMessage !== undefined && ALREADY_REVOKED.test(failed.caMessage);
}

export function caDownError(context: CallContext, statusMessage: string): BrokerError {
  return callError(
    'CA_UNAVAILABLE',
    context,
    `the CA reports its enrollment service DOWN: "${statusMessage}"`,
    {
      caMessage: statusMessage,
    },
  );
}
