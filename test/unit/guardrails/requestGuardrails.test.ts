import type { PkcsRequest } from '../../../shared/contract/types';
import { readSettings } from '../../../shared/config/settings';
import { assertRequestAllowed, domainMatches } from '../../../shared/guardrails/requestGuardrails';
import { brokerErrorOf } from '../../support/brokerErrors';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const request = (changes: Partial<PkcsRequest> = {}): PkcsRequest => ({
  schemaVersion: 1,
  requestId: 'g-1',
  certificateAuthority: 'pki-ws.symauth.com',
  certificateAuthorityName: 'Symantec',
  certificateTemplateName: USER_PROFILE,
  subjectName: 'CN=IWUser0,E=IWUser0@contoso.com',
  subjectAlternativeNames: [
    { type: 'AltNameTypeEmail', value: 'IWUser0@contoso.com' },
    { type: 'AltNameTypeUpn', value: 'IWUser0@eu.contoso.com' },
  ],
  recipientCertificate: 'x',
  ...changes,
});
const open = { profileOids: [], allowedDomains: [] };

describe('request guardrails', () => {
  it('let everything through when nothing is configured', () => {
    expect(() => assertRequestAllowed(request(), open)).not.toThrow();
  });

  it('PROFILE_OIDS: another profile is REQUEST_NOT_ALLOWED naming the field and the setting', () => {
    const error = brokerErrorOf(() =>
      assertRequestAllowed(request(), { ...open, profileOids: ['2.16.840.1.113733.1.16.1.2.3.1.1.1'] }),
    );
    expect(error.code).toBe('REQUEST_NOT_ALLOWED');
    expect(error.message).toMatch(/^certificateTemplateName .* \(PROFILE_OIDS\)/);
    expect(error.remedy).toContain('PROFILE_OIDS');
    expect(() => assertRequestAllowed(request(), { ...open, profileOids: [USER_PROFILE] })).not.toThrow();
  });

  it('ALLOWED_DOMAINS: every e-mail, UPN and subject e-mail must be in an allowed domain', () => {
    const allowed = { ...open, allowedDomains: ['contoso.com', '*.contoso.com'] };
    expect(() => assertRequestAllowed(request(), allowed)).not.toThrow();
    const upnOutside = brokerErrorOf(() =>
      assertRequestAllowed(request(), { ...open, allowedDomains: ['contoso.com'] }),
    );
    expect(upnOutside.code).toBe('REQUEST_NOT_ALLOWED');
    expect(upnOutside.message).toBe(
      'subjectAlternativeNames[1] (AltNameTypeUpn) is in the domain "eu.contoso.com", which is not in ALLOWED_DOMAINS.',
    );
    // The address itself (a person's) is never echoed.
    expect(upnOutside.message).not.toContain('IWUser0');
    const subject = brokerErrorOf(() =>
      assertRequestAllowed(
        request({ subjectName: 'CN=x,E=x@fabrikam.com', subjectAlternativeNames: [] }),
        allowed,
      ),
    );
    expect(subject.message).toMatch(/^subjectName \(e-mail\) is in the domain "fabrikam.com"/);
  });

  it.each<[string, string, boolean]>([
    ['contoso.com', 'contoso.com', true],
    ['CONTOSO.com', 'contoso.com', true],
    ['eu.contoso.com', 'contoso.com', false],
    ['eu.contoso.com', '*.contoso.com', true],
    ['contoso.com', '*.contoso.com', false],
    ['evilcontoso.com', '*.contoso.com', false],
    ['contoso.com.evil.example', 'contoso.com', false],
  ])('%s against %s: %s', (domain, rule, matches) => {
    expect(domainMatches(domain.toLowerCase(), rule)).toBe(matches);
  });

  it('reads ALLOWED_DOMAINS from the settings and refuses what is not a domain', () => {
    expect(readSettings({ ALLOWED_DOMAINS: ' Contoso.com, *.contoso.com ,' }).allowedDomains).toEqual([
      'contoso.com',
      '*.contoso.com',
    ]);
    expect(() => readSettings({ ALLOWED_DOMAINS: 'contoso' })).toThrow(/ALLOWED_DOMAINS/);
    expect(() => readSettings({ ALLOWED_DOMAINS: '@contoso.com' })).toThrow(/not a domain/);
  });
});
