import { createHash } from 'node:crypto';

/**
 * A stable, non-reversible stand-in for an e-mail address, UPN or other personal value, so one user's
 * requests can be correlated in telemetry and in log lines alike without naming the user.
 */
export function pseudonymize(value: string): string {
  return 'sha256:' + createHash('sha256').update(value.trim().toLowerCase()).digest('hex').slice(0, 16);
}
