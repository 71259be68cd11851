import type { ResolvedAddress } from '../../../shared/mapping';
import {
  noUpnToCheck,
  sidOwnershipRefusal,
  type DirectoryUserLookup,
} from '../../../shared/identity/sidOwnership';

const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const OTHER_SID = 'S-1-5-21-3623811015-3361044348-30300820-1014';
const UPN_VALUE = 'IWUser0@contoso.onmicrosoft.com';
const UPN: ResolvedAddress = {
  value: UPN_VALUE,
  origin: 'AltNameTypeUpn',
  field: 'subjectAlternativeNames[1].value',
};
const BASE = 'https://graph.microsoft.com';

function decide(lookup: DirectoryUserLookup, upn: ResolvedAddress = UPN) {
  return sidOwnershipRefusal(lookup, SID, upn, BASE);
}

/** Nothing personal in what reaches the result: neither the SID nor the UPN. */
function expectNoPersonalData(text: string): void {
  expect(text).not.toContain('S-1-5-21');
  expect(text.toLowerCase()).not.toContain(UPN_VALUE.toLowerCase());
}

describe('sidOwnershipRefusal', () => {
  it.each([SID, SID.toLowerCase(), ` ${SID} `])(
    'lets the SID through when Graph reports it (%s)',
    (reported) => {
      expect(decide({ kind: 'user', onPremisesSecurityIdentifier: reported })).toBeUndefined();
    },
  );

  it.each<[string, DirectoryUserLookup, RegExp, RegExp]>([
    [
      'another SID',
      { kind: 'user', onPremisesSecurityIdentifier: OTHER_SID },
      /^securityIdentifier is not the on-premises SID of the account.*subjectAlternativeNames\[1\]\.value.*SID ownership check \(SID_VERIFY_WITH_GRAPH\)/,
      /own SID.*SID_VERIFY_WITH_GRAPH/,
    ],
    [
      'a user without an on-premises SID',
      { kind: 'user', onPremisesSecurityIdentifier: null },
      /^securityIdentifier was sent, but the Entra ID user .* has no onPremisesSecurityIdentifier.*SID_VERIFY_WITH_GRAPH/,
      /Send no securityIdentifier for accounts without an on-premises SID/,
    ],
    [
      'an unknown user (404)',
      { kind: 'answer', status: 404, code: 'Request_ResourceNotFound' },
      /^securityIdentifier could not be checked: Microsoft Graph has no user .*404 Request_ResourceNotFound.*SID_VERIFY_WITH_GRAPH/,
      /userPrincipalName.*SID_VERIFY_WITH_GRAPH/,
    ],
    [
      'a denied lookup (403)',
      { kind: 'answer', status: 403, code: 'Authorization_RequestDenied' },
      /denied reading the user \(403 Authorization_RequestDenied\).*User\.Read\.All.*SID_VERIFY_WITH_GRAPH/,
      /User\.Read\.All.*SID_VERIFY_WITH_GRAPH=false/,
    ],
    [
      'a refused token (401)',
      { kind: 'answer', status: 401, code: 'InvalidAuthenticationToken' },
      /denied reading the user \(401 InvalidAuthenticationToken\).*User\.Read\.All/,
      /User\.Read\.All/,
    ],
    [
      'another client error (400)',
      { kind: 'answer', status: 400, code: 'Request_BadRequest' },
      /Microsoft Graph answered 400 Request_BadRequest.*SID_VERIFY_WITH_GRAPH/,
      /GRAPH_BASE_URL/,
    ],
    [
      'no managed identity token',
      { kind: 'no-token', detail: 'CredentialUnavailableError: no managed identity', transient: false },
      /no access token for Microsoft Graph.*CredentialUnavailableError.*SID_VERIFY_WITH_GRAPH/,
      /managed identity.*User\.Read\.All/,
    ],
  ])('refuses %s for good with REQUEST_NOT_ALLOWED', (_name, lookup, message, remedy) => {
    const error = decide(lookup);
    expect(error).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: false });
    expect(error?.message).toMatch(message);
    expect(error?.remedy).toMatch(remedy);
    expectNoPersonalData(`${error?.message} ${error?.remedy}`);
  });

  it.each<[string, DirectoryUserLookup, RegExp]>([
    ['503', { kind: 'answer', status: 503, code: 'UnknownError' }, /unavailable \(503 UnknownError\)/],
    ['429', { kind: 'answer', status: 429 }, /unavailable \(429\)/],
    ['408', { kind: 'answer', status: 408 }, /unavailable \(408\)/],
    [
      'no answer',
      { kind: 'unreachable', detail: 'UND_ERR_CONNECT_TIMEOUT: Connect Timeout Error' },
      /UND_ERR_CONNECT_TIMEOUT/,
    ],
    [
      'a token endpoint out of reach',
      { kind: 'no-token', detail: 'network unreachable', transient: true },
      /no access token/,
    ],
  ])('has the request wait when Graph cannot be asked (%s)', (_name, lookup, message) => {
    const error = decide(lookup);
    expect(error).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: true });
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(/SID_VERIFY_WITH_GRAPH/);
  });

  it('says when a fallback stood in for the UPN, naming the field only', () => {
    const fromEmail: ResolvedAddress = {
      ...UPN,
      origin: 'AltNameTypeEmail',
      field: 'subjectAlternativeNames[0].value',
    };
    const error = decide({ kind: 'answer', status: 404, code: 'Request_ResourceNotFound' }, fromEmail);
    expect(error?.message).toMatch(
      /the UPN taken from subjectAlternativeNames\[0\]\.value \(no AltNameTypeUpn was sent, so the e-mail address stood in for it\)/,
    );
    expectNoPersonalData(error?.message ?? '');
  });

  it('refuses a request without any UPN, naming the fallbacks tried', () => {
    const error = noUpnToCheck();
    expect(error).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: false });
    expect(error.message).toMatch(/names no UPN \(tried AltNameTypeUpn, then AltNameTypeEmail/);
    expect(error.remedy).toMatch(/AltNameTypeUpn.*SID_VERIFY_WITH_GRAPH/);
  });
});
