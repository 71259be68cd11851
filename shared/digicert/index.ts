/** DigiCert PKI-WS client: SOAP over mutual TLS, faults classified into the contract's error codes. */
export type {
  CaCertificateRecord,
  CaCertificateStatus,
  CertificateSearch,
  DigicertCa,
  EnrollmentRequest,
  EnrollmentResponse,
  HealthStatus,
  NameValuePair,
  PolicyAttribute,
  PolicyCaCertificates,
  ProfilePolicy,
  RevocationReason,
} from './types';
export { PkiWsClient } from './client';
export type { PkiWsClientOptions } from './client';
export { PkiWsTransport, resolveCaHost } from './transport';
export type { SoapCall, TransportOptions, TransportSettings } from './transport';
export type { CaEndpoint } from '../contract/caHosts';
export { buildGetPoliciesEnvelope, parseGetPoliciesResponse, SUBJECT_ALT_NAME_OID } from './policy';
export {
  buildRequestSecurityTokenEnvelope,
  parseRequestSecurityTokenResponse,
  REQUEST_TYPE_ISSUE,
  TOKEN_TYPE_PKCS7,
  TOKEN_TYPE_X509V3,
  VALUE_TYPE_PKCS10,
} from './enrollment';
export { buildGetStatusEnvelope, parseGetStatusResponse } from './health';
export {
  buildRevokeEnvelope,
  buildSearchCertificateEnvelope,
  MAX_REVOCATION_COMMENT_LENGTH,
  normalizeSerialNumber,
  parseCaTimestamp,
  parseSearchCertificateResponse,
  parseUpdateCertificateStatusResponse,
  REVOCATION_REASONS,
} from './management';
export type { Revocation, SearchCertificatePage, StatusUpdateResult } from './management';
export {
  CaResilience,
  DEFAULT_CIRCUIT_FAILURES,
  DEFAULT_CIRCUIT_HALF_OPEN_MS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED_CALLS,
  fullJitterGenerator,
  RetryAfterBackoff,
} from './resilience';
export type { CircuitStatus, GuardedCall, ResilienceClock, ResilienceSettings } from './resilience';
export { PKI_WS_NAMESPACES, SOAP_ACTIONS, SOAP_ENVELOPE_NS, parseSoapAnswer, soapEnvelope } from './soap';
export type { PkiWsService, SoapAnswer, SoapFault } from './soap';
export { saysAlreadyRevoked } from './faults/answerContent';
export { interpretHttpAnswer, parseRetryAfter } from './faults/httpAnswer';
export { classifyTransportError } from './faults/network';
export { isRaCertificateRejection } from './faults/raRejection';
export { classifyFault } from './faults/soapFault';
export type { CallContext } from './faults/callContext';
