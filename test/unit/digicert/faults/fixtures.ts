/** The call and the attempt the fault tests classify failures of. */
import type { CallContext } from '../../../../shared/digicert/faults/callContext';

export const context: CallContext = {
  operation: 'requestSecurityToken',
  caHost: 'ca.fabrikam.test',
  service: 'enrollmentService',
  profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.61234567',
};
export const failure = { attemptTimedOut: false, requestTimeoutMs: 30000, connectTimeoutMs: 10000 };

/** An error as Node or undici throws it: a message and a `code` (and whatever else it carries). */
export function coded(code: string, message = 'x', extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}
