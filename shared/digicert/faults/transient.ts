/** Failures that may pass by themselves, and those of them that may have been carried out by the CA. */
import { BrokerError } from '../../contract/errors';

const AMBIGUOUS_REMEDY =
  'Nothing to do for this request: the broker asks the CA (searchCertificate) whether the certificate was issued before it enrolls again. If this keeps happening, raise CA_REQUEST_TIMEOUT_MS or contact DigiCert support.';

/**
 * The same failure, marked as one that may have reached the CA and been carried out (a timeout or a broken
 * connection after the enrollment was sent, a 500 without a SOAP fault): retryable, but only after the CA was
 * asked what it did. Its detail is left behind on purpose: an inferred RA rejection carried over would make
 * the transport resend the enrollment with a renewed credential, and the CA may have issued already.
 */
export function ambiguousError(failed: BrokerError): BrokerError {
  const code = failed.code === 'CA_TIMEOUT' ? 'CA_TIMEOUT' : 'CA_UNAVAILABLE';
  return new BrokerError(
    code,
    `${failed.message}; the request had been sent, so the CA may have issued the certificate: ask the CA (searchCertificate) before enrolling again`,
    {
      remedy: AMBIGUOUS_REMEDY,
      retryable: true,
      ambiguous: true,
      caMessage: failed.caMessage,
      cause: failed.cause ?? failed,
    },
  );
}

/** A failure that says the CA is struggling (a timeout, a broken connection, 5xx, a transient fault). */
export function isTransientCaFailure(failed: BrokerError): boolean {
  return failed.retryable && (failed.code === 'CA_TIMEOUT' || failed.code === 'CA_UNAVAILABLE');
}
