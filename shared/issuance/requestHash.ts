/** The fingerprint of a request message: a reused requestId with another body is told apart by it. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../contract/canonicalJson';
import type { PkcsRequest } from '../contract/types';
import { withoutSignature } from '../guardrails/requestSignature';

/**
 * SHA-256 of the request with its keys sorted: the same request always hashes the same. The signature is left
 * out: the same request signed again later is a repeat, not another request.
 */
export function requestHash(request: PkcsRequest): string {
  return createHash('sha256')
    .update(canonicalJson(withoutSignature(request)))
    .digest('hex');
}
