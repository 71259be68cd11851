import type { RevocationReasonCode } from '../contract/types';
/**
 * What the broker understands of a DigiCert certificate profile policy (getPoliciesResponse), independent
 * of the XML it came in. Produced by shared/digicert/policy.ts, consumed by shared/mapping and the dev
 * simulator.
 */

/** One name/value attribute of the policy: a fixed value, or a `$variable` the RA fills. */
export interface PolicyAttribute {
  /** attributeName as the profile spells it: `cn`, `e`, `o`, `rfc822Name`, `otherNameUPN`, `otherName`, … */
  attributeName: string;
  /** attributeNameValue text: `$common_name` (a variable) or a literal such as `Contoso Ltd`. */
  value: string;
  mandatory: boolean;
  /** The @type attribute: `VT_PRINTABLE_STRING`, `VT_UTF8_STRING`, … or, for an otherName, its type-id OID. */
  type?: string;
}

export interface PolicyCaCertificates {
  /** base64 DER of the issuing CA certificate, its intermediates and the root, as far as the policy says. */
  issuingCa?: string;
  intermediates: string[];
  root?: string;
  issuerName?: string;
}

export interface PolicyKeyAlgorithm {
  /** Dotted OID, e.g. 1.2.840.113549.1.1.11 (sha256RSA) or 1.2.840.10045.2.1 (id-ecPublicKey). */
  oid?: string;
  /** The oIDs table's defaultName, e.g. `sha256RSA`. */
  name?: string;
}

export interface ProfilePolicy {
  profileOid: string;
  friendlyName?: string;
  /** How long the policy may be cached (hours). */
  nextUpdateHours: number;
  subjectAttributes: PolicyAttribute[];
  /** Attributes of the subjectAltName extension (OID 2.5.29.17). */
  sanAttributes: PolicyAttribute[];
  /**
   * The SID field of strong certificate mapping (Microsoft KB5014754): the attribute of the profile's
   * extension 1.3.6.1.4.1.311.25.2, usually `$objectSid` of type 1.3.6.1.4.1.311.25.2.1. Absent when the
   * profile cannot carry a SID.
   */
  sidAttribute?: PolicyAttribute;
  /** seatIdInfo: usually a variable such as `$mail_email`. */
  seatId?: { value: string; mandatory: boolean };
  keySize?: number;
  /**
   * privateKeyAttributes/algorithmOIDReference resolved through oIDs: the OID and the table's defaultName, as
   * far as the answer says. The vendor does not say whether it names the key algorithm (rsaEncryption,
   * id-ecPublicKey) or the signature algorithm (sha256RSA, ecdsa-with-SHA256); shared/mapping reads both.
   * Absent when the policy names none (or its reference resolves to nothing).
   */
  keyAlgorithm?: PolicyKeyAlgorithm;
  validityDays?: number;
  /** certificateDeliveryFormat URI, if the policy names one. */
  deliveryFormat?: string;
  cas: PolicyCaCertificates[];
}

export interface NameValuePair {
  name: string;
  value: string;
}

/** What the enrollment operation sends besides the CSR. */
export interface EnrollmentRequest {
  profileOid: string;
  clientTransactionId: string;
  /** DER of the PKCS#10 request. */
  csrDer: Buffer;
  nameValuePairs: NameValuePair[];
}

export interface EnrollmentResponse {
  serverTransactionId?: string;
  dispositionMessage?: string;
  /** DER of the PKCS#7 SignedData (certs-only) holding the leaf and its chain, or of a single X.509 certificate. */
  tokenDer: Buffer;
  tokenType: 'PKCS7' | 'X509v3';
}

export interface HealthStatus {
  up: boolean;
  message: string;
}

export type CaCertificateStatus = 'VALID' | 'EXPIRED' | 'REVOKED' | 'SUSPENDED';

/** One certificate as certificateManagementService searchCertificate describes it. */
export interface CaCertificateRecord {
  /** Upper-case hex without leading zeros. */
  serialNumber: string;
  /** DER of the certificate, when the CA returned it (needed to match a public key). */
  certificateDer?: Buffer;
  status: CaCertificateStatus | string;
  seatId?: string;
  profileOid?: string;
  validFrom?: Date;
  validTo?: Date;
}

export interface CertificateSearch {
  seatId?: string;
  profileOid?: string;
  status?: CaCertificateStatus;
  /** Hex; sent as the CA writes it (upper case, no separators or leading zeros). */
  serialNumber?: string;
}

/** PKI-WS RevokeReasonCodeEnum (the contract's revocation reasons). */
export type RevocationReason = RevocationReasonCode;

/** The DigiCert PKI-WS operations the pipeline uses. Implemented over mutual TLS by shared/digicert/client.ts. */
export interface DigicertCa {
  getPolicy(caHost: string, profileOid: string): Promise<ProfilePolicy>;
  /**
   * Sends one enrollment. Never resent blindly: a failure after the request may have reached the CA is a
   * BrokerError with `ambiguous: true`, and the caller asks the CA (searchCertificates) before trying again.
   */
  enroll(caHost: string, request: EnrollmentRequest): Promise<EnrollmentResponse>;
  getStatus(caHost: string, profileOid?: string): Promise<HealthStatus>;
  /** All certificates matching the search (every page). */
  searchCertificates(caHost: string, search: CertificateSearch): Promise<CaCertificateRecord[]>;
  revokeCertificate(
    caHost: string,
    serialNumber: string,
    reason: RevocationReason,
    comment?: string,
  ): Promise<void>;
}
