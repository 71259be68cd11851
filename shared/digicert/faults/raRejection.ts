/** Failures that say the RA certificate did not work, so a kept credential should be read again. */
import type { BrokerError } from '../../contract/errors';

/**
 * Errors that mean the RA credential did not work — the CA refused it, or it could not be used at all — so a
 * kept credential should be read again.
 */
export function isRaCertificateRejection(error: BrokerError): boolean {
  return error.detail?.raRejection !== undefined;
}

/**
 * A rejection inferred from the CA hanging up without a byte of answer (no TLS alert, no HTTP 401/403): the
 * usual sign of a TLS 1.3 server refusing the client certificate, but also what a CA failing mid-request
 * looks like.
 */
export function isInferredRaRejection(error: BrokerError): boolean {
  return error.detail?.raRejection === 'inferred';
}

export const RA_REJECTED_REMEDY =
  'DigiCert did not accept the RA certificate. Make sure the broker uses the RA certificate DigiCert issued for this account (RA_CERTIFICATE_NAME, or RA_CERT_THUMBPRINT if pinned) with its private key, that it has the client-authentication EKU and is neither expired nor revoked, and that CA_ALLOWED_HOSTS names the DigiCert host of that account.';
