import { pseudonymize, requestTraceProperties } from '../../../shared/telemetry/telemetry';

describe('request telemetry', () => {
  const event = {
    requestId: 'r-1',
    profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    caHost: 'pki-ws.symauth.com',
    outcome: 'failed' as const,
    errorCode: 'POLICY_MISMATCH',
    durationMs: 12.6,
    dequeueCount: 2,
    subjectIdentity: 'IWUser0@contoso.onmicrosoft.com',
  };

  it('carries requestId, profile, outcome, error code and duration', () => {
    expect(requestTraceProperties(event, false)).toEqual({
      requestId: 'r-1',
      profileOid: event.profileOid,
      caHost: 'pki-ws.symauth.com',
      outcome: 'failed',
      errorCode: 'POLICY_MISMATCH',
      durationMs: '13',
      dequeueCount: '2',
      subjectIdentity: pseudonymize('IWUser0@contoso.onmicrosoft.com'),
    });
  });

  it('hashes the e-mail/UPN unless personal data is explicitly allowed', () => {
    const hashed = requestTraceProperties(event, false).subjectIdentity!;
    expect(hashed).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(hashed).not.toContain('contoso');
    // Case and spacing do not split one user into two.
    expect(pseudonymize(' iwuser0@CONTOSO.onmicrosoft.com')).toBe(hashed);
    expect(requestTraceProperties(event, true).subjectIdentity).toBe('IWUser0@contoso.onmicrosoft.com');
  });

  it('names an unreadable request instead of dropping it', () => {
    expect(requestTraceProperties({ ...event, requestId: null }, false).requestId).toBe('(unreadable)');
  });
});
