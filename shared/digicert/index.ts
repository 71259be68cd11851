/** DigiCert PKI-WS client: SOAP over mutual TLS, faults classified into the contract's error codes. */
export type {
  DigicertCa,
  EnrollmentRequest,
  EnrollmentResponse,
  HealthStatus,
  NameValuePair,
  PolicyAttribute,
  PolicyCaCertificates,
  ProfilePolicy,
} from './types';
export { PkiWsClient } from './client';
export type { PkiWsClientOptions } from './client';
export { PkiWsTransport, backoffDelayMs, resolveCaHost, retryDelayMs } from './transport';
export type { CaEndpoint, SoapCall, TransportOptions, TransportSettings } from './transport';
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
export { PKI_WS_NAMESPACES, SOAP_ACTIONS, SOAP_ENVELOPE_NS, parseSoapAnswer, soapEnvelope } from './soap';
export type { PkiWsService, SoapAnswer, SoapFault } from './soap';
export {
  classifyFault,
  classifyTransportError,
  interpretHttpAnswer,
  isRaCertificateRejection,
  parseRetryAfter,
} from './faults';
export type { CallContext } from './faults';
