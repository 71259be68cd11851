/**
 * The guardrail SID_VERIFY_WITH_GRAPH: a securityIdentifier is enrolled only when Microsoft Graph confirms it
 * is the onPremisesSecurityIdentifier of the account the request names (its UPN). Without it, whoever can
 * write to the request queue could ask for a certificate that maps to any account's SID (KB5014754).
 *
 * The check fails closed: a SID that cannot be confirmed is refused (REQUEST_NOT_ALLOWED), and when Graph
 * cannot be asked right now the request waits in the queue instead of going through unchecked. Messages
 * name the request field the UPN came from, never the UPN or the SID themselves.
 *
 * This module is the decision only (pure); graphSidCheck.ts asks Graph.
 */
import { BrokerError } from '../contract/errors';
import { UPN_FALLBACKS, type ResolvedAddress } from '../mapping';

export interface SidOwnershipCheck {
  /**
   * Resolves when `sid` is the on-premises SID of the account whose UPN is `upn`; rejects with a BrokerError
   * (REQUEST_NOT_ALLOWED; retryable when the directory could not be asked) otherwise.
   */
  verify(upn: ResolvedAddress | undefined, sid: string): Promise<void>;
}

/** What the directory said about the user, or why it said nothing. */
export type DirectoryUserLookup =
  /** The user exists; null when it has no on-premises SID (cloud-only, not synchronised). */
  | { kind: 'user'; onPremisesSecurityIdentifier: string | null }
  /** Any answer other than the user: its HTTP status and the error code in its body, if any. */
  | { kind: 'answer'; status: number; code?: string }
  /** No usable answer: refused connection, reset, timeout, an unreadable body. */
  | { kind: 'unreachable'; detail: string }
  /** No access token for Graph from the managed identity. */
  | { kind: 'no-token'; detail: string; transient: boolean };

const GUARDRAIL = 'Refused by the SID ownership check (SID_VERIFY_WITH_GRAPH)';

const PERMISSION_REMEDY =
  'Grant the Function App\'s managed identity the Microsoft Graph application permission User.Read.All (an administrator assigns the app role to the identity\'s service principal: docs/deployment-guide.md step 4, "Strong certificate mapping"), then send the request again with a new requestId. Or set SID_VERIFY_WITH_GRAPH=false to stop checking SIDs.';

function refused(message: string, remedy: string, retryable = false): BrokerError {
  return new BrokerError('REQUEST_NOT_ALLOWED', message, { remedy, retryable });
}

/** `the UPN in subjectAlternativeNames[1].value`, saying so when a fallback supplied it. */
function describeUpn(upn: ResolvedAddress): string {
  if (upn.origin === 'AltNameTypeUpn') return `the UPN in ${upn.field}`;
  const what = upn.origin === 'AltNameTypeEmail' ? 'e-mail address' : 'subject e-mail';
  return `the UPN taken from ${upn.field} (no AltNameTypeUpn was sent, so the ${what} stood in for it)`;
}

function sameSid(a: string, b: string): boolean {
  return a.trim().toUpperCase() === b.trim().toUpperCase();
}

/** The request names no UPN: there is no account to check the SID against. */
export function noUpnToCheck(): BrokerError {
  return refused(
    `securityIdentifier could not be checked: the request names no UPN (tried ${UPN_FALLBACKS}). ${GUARDRAIL}, which lets no SID through unchecked.`,
    "Add the account's UPN to the Intune profile's subject alternative name (AltNameTypeUpn), so that SID_VERIFY_WITH_GRAPH can confirm the SID belongs to it.",
  );
}

/**
 * Undefined when the directory confirms that `sid` belongs to the user; else the BrokerError to fail with.
 * `graphBaseUrl` is named in the remedy of a failure to reach Graph.
 */
export function sidOwnershipRefusal(
  lookup: DirectoryUserLookup,
  sid: string,
  upn: ResolvedAddress,
  graphBaseUrl: string,
): BrokerError | undefined {
  const account = describeUpn(upn);
  switch (lookup.kind) {
    case 'user':
      if (lookup.onPremisesSecurityIdentifier === null || lookup.onPremisesSecurityIdentifier.trim() === '') {
        return refused(
          `securityIdentifier was sent, but the Entra ID user with ${account} has no onPremisesSecurityIdentifier (a cloud-only account, or one not synchronised from Active Directory). ${GUARDRAIL}.`,
          'Send no securityIdentifier for accounts without an on-premises SID (and use a DigiCert profile without the SID field for them), or synchronise the account from Active Directory so that Entra ID knows its SID.',
        );
      }
      if (sameSid(lookup.onPremisesSecurityIdentifier, sid)) return undefined;
      return refused(
        `securityIdentifier is not the on-premises SID of the account the request is for: Microsoft Graph reports another onPremisesSecurityIdentifier for the user with ${account}. ${GUARDRAIL}.`,
        "Send the account's own SID (its onPremisesSecurityIdentifier in Entra ID) together with that account's UPN; check that whatever writes the requests reads both from the same user. SID_VERIFY_WITH_GRAPH refuses any other SID.",
      );
    case 'answer':
      return answerRefusal(lookup, account, graphBaseUrl);
    case 'unreachable':
      return graphUnavailable(lookup.detail, graphBaseUrl);
    case 'no-token':
      return refused(
        `securityIdentifier could not be checked: no access token for Microsoft Graph could be obtained from the managed identity (${lookup.detail}). ${GUARDRAIL}, which lets no SID through unchecked.`,
        `Turn on the Function App's managed identity (Identity > System assigned). ${PERMISSION_REMEDY}`,
        lookup.transient,
      );
  }
}

function answerRefusal(
  answer: { status: number; code?: string },
  account: string,
  graphBaseUrl: string,
): BrokerError {
  const said = [String(answer.status), answer.code].filter((part) => part !== undefined).join(' ');
  if (answer.status === 404) {
    return refused(
      `securityIdentifier could not be checked: Microsoft Graph has no user with ${account} (${said}). ${GUARDRAIL}.`,
      "Put the account's userPrincipalName in the request (AltNameTypeUpn) so that SID_VERIFY_WITH_GRAPH finds it in Entra ID, and send a SID only for an account that exists there.",
    );
  }
  if (answer.status === 401 || answer.status === 403) {
    // Not retried: a missing permission does not pass by itself, and a fresh grant may take hours to reach
    // the managed identity's cached token; the failed result tells the admin now.
    return refused(
      `securityIdentifier could not be checked: Microsoft Graph denied reading the user (${said}); the broker's managed identity needs the application permission User.Read.All. ${GUARDRAIL}, which lets no SID through unchecked.`,
      PERMISSION_REMEDY,
    );
  }
  if (answer.status === 408 || answer.status === 429 || answer.status >= 500) {
    return graphUnavailable(said, graphBaseUrl);
  }
  return refused(
    `securityIdentifier could not be checked: Microsoft Graph answered ${said} when asked for the user with ${account}. ${GUARDRAIL}, which lets no SID through unchecked.`,
    "Check that the request's UPN is a userPrincipalName Entra ID knows, and that GRAPH_BASE_URL is the Microsoft Graph endpoint of your cloud. Or set SID_VERIFY_WITH_GRAPH=false to stop checking SIDs.",
  );
}

/** Graph could not be asked now: the request waits in the queue rather than go through unchecked. */
function graphUnavailable(detail: string, graphBaseUrl: string): BrokerError {
  return refused(
    `securityIdentifier could not be checked yet: Microsoft Graph is unavailable (${detail}). The SID ownership check (SID_VERIFY_WITH_GRAPH) lets no SID through unchecked, so the request waits and is tried again.`,
    `Transient: the request is retried. If it persists, check Microsoft Graph's service health and the network path from the Function App to GRAPH_BASE_URL (${graphBaseUrl}); SID_VERIFY_WITH_GRAPH=false stops the check.`,
    true,
  );
}
