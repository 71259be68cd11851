/**
 * The faults/ folder turns everything that can go wrong talking to the CA into the contract's error codes:
 * the only code that looks at network error codes, HTTP statuses and fault strings; everything above it sees
 * BrokerError only. This module holds the call a failure happened in and how every message starts: it names
 * the operation and the host; the CA's own words go to `caMessage`.
 */
import { BrokerError, BrokerErrorOptions, ErrorCode } from '../../contract/errors';
import type { PkiWsService } from '../soap';

export interface CallContext {
  /** The PKI-WS operation: getPolicies, requestSecurityToken, getStatus, … */
  operation: string;
  /** The CA host as the request named it (host or host:port). */
  caHost: string;
  service: PkiWsService;
  /** The certificate profile the call is about, when there is one (for messages). */
  profileOid?: string;
}

export function describeCall(context: CallContext): string {
  return `DigiCert ${context.operation} at ${context.caHost}`;
}

export function callError(
  code: ErrorCode,
  context: CallContext,
  problem: string,
  options: BrokerErrorOptions = {},
): BrokerError {
  return new BrokerError(code, `${describeCall(context)} failed: ${problem}`, options);
}
