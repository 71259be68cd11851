/** The request and result messages of contract v1 (schemas: request.v1.schema.json, result.v1.schema.json). */

export type SanType = 'AltNameTypeEmail' | 'AltNameTypeUpn' | 'AltNameTypeOtherName';

export interface SubjectAlternativeName {
  type: SanType;
  value: string;
  /** otherName type-id (dotted OID); optional where the profile has one otherName field. */
  oid?: string;
}

export type KeySize = 2048 | 3072 | 4096;

export interface PkcsRequest {
  schemaVersion: 1;
  requestId: string;
  certificateAuthority: string;
  certificateAuthorityName: string;
  certificateTemplateName: string;
  subjectName: string;
  subjectAlternativeNames?: SubjectAlternativeName[];
  keySize?: KeySize;
  recipientCertificate: string;
  context?: Record<string, unknown>;
  /** Serial number (hex) of the certificate this one replaces: revoked (Superseded) once the result is stored. */
  supersedes?: string;
  /** The account's on-premises SID (`S-1-5-21-…`) for strong certificate mapping (KB5014754). */
  securityIdentifier?: string;
  /** HMAC of the message by the upstream system (REQUEST_SIGNING_SECRET_NAME); not part of its identity. */
  signature?: MessageSignature;
}

/** The `signature` of a request or revocation (schema $defs/messageSignature). */
export interface MessageSignature {
  algorithm: 'HMAC-SHA256';
  /** The Key Vault version of the signing secret; absent: the current version. */
  keyId?: string;
  signedAt: string;
  /** Base64 of the 32-byte MAC. */
  value: string;
}

export interface IssuedCertificateSummary {
  serialNumber: string;
  thumbprint: string;
  subject: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  pem: string;
  chainPem: string[];
  /** The superseded certificate's serial (upper-case hex, no leading zeros), revoked through the revocation queue. */
  supersededSerialNumber?: string;
}

export interface EncryptedPassword {
  algorithm: 'RSA-OAEP-256';
  recipientThumbprint: string;
  encryptedValue: string;
}

export interface ResultError {
  code: string;
  message: string;
  remedy: string;
  retryable: boolean;
  caMessage?: string;
}

interface ResultBase {
  schemaVersion: 1;
  /** null only when the message was so malformed that no requestId could be read from it. */
  requestId: string | null;
  completedAt: string;
  context?: Record<string, unknown>;
}

export interface IssuedResult extends ResultBase {
  status: 'issued';
  certificate: IssuedCertificateSummary;
  pfx: { data: string; password: EncryptedPassword };
}

export interface FailedResult extends ResultBase {
  status: 'failed';
  error: ResultError;
}

export type PkcsResult = IssuedResult | FailedResult;

/** PKI-WS RevokeReasonCodeEnum. */
export type RevocationReasonCode =
  | 'Unspecified'
  | 'KeyCompromise'
  | 'CACompromise'
  | 'AffiliationChanged'
  | 'Superseded'
  | 'CessationOfOperation'
  | 'PrivilegeWithdrawn'
  | 'AACompromise';

/** One message on PKCS_REVOKE_QUEUE (revocation.v1.schema.json): exactly one of serialNumber and requestId. */
export interface RevocationRequest {
  schemaVersion: 1;
  revocationId: string;
  certificateAuthority?: string;
  serialNumber?: string;
  requestId?: string;
  reason?: RevocationReasonCode;
  comment?: string;
  context?: Record<string, unknown>;
  signature?: MessageSignature;
}

export interface RevokedResult {
  schemaVersion: 1;
  revocationId: string;
  status: 'revoked';
  completedAt: string;
  /** Upper-case hex without separators or leading zeros. */
  serialNumber: string;
  /** With a revocation by requestId: the issuance whose certificate was revoked. */
  requestId?: string;
  reason: RevocationReasonCode;
  /** The CA had revoked it before this revocation. */
  alreadyRevoked: boolean;
  context?: Record<string, unknown>;
}

export interface FailedRevocationResult {
  schemaVersion: 1;
  revocationId: string | null;
  status: 'failed';
  completedAt: string;
  error: FailedResult['error'];
  context?: Record<string, unknown>;
}

export type RevocationResult = RevokedResult | FailedRevocationResult;
