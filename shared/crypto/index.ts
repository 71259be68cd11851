/** Keys, CSR, the CA's token, the PFX and the recipient's encrypted password. */
export {
  generateEcKeyPair,
  generateKeyOf,
  generateKeyPair,
  isEcCurve,
  KEY_SIZES,
  keySpecName,
  type EcCurve,
  type KeyPair,
  type KeySpec,
} from './keys';
export { directKeys, KeyGenerationError, KeyPool, type KeySource } from './keyPool';
export { createCsr, OID_UPN } from './csr';
export {
  caCertificatesOfPolicy,
  parseIssuedToken,
  parsedCaCertificatesOfPolicy,
  type IssuedCertificates,
} from './token';
export {
  buildPfx,
  buildPfxOfCertificates,
  createPfxPassword,
  type PfxEncryption,
  type PfxInput,
} from './pfx';
export { encryptPasswordForRecipient, parseRecipientCertificate, type Recipient } from './recipient';
export { summarizeCertificate, summarizeIssued, sha1Thumbprint } from './certificate';
