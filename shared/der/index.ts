/**
 * shared/der: the broker's one DER toolkit, pure. A writer (the CSR), a lenient reader by offsets
 * (certificates and PKCS#7 tokens from the CA, BER indefinite lengths tolerated), a strict reader (otherName
 * values a request hands over, which must be well-formed DER), and the one DerError both readers throw.
 */
export { DerError } from './derError';
export { TAG } from './tags';
export * from './writer';
export * from './reader';
export { parseStrictDer, type DerNode, type DerTagClass } from './strictDer';
