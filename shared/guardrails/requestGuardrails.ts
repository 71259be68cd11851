/**
 * Guardrails on what a request may ask for (contract: REQUEST_NOT_ALLOWED). Whoever can write to the request
 * queue can have certificates issued in the RA's name, and every certificate takes a DigiCert seat licence:
 * the operator limits the profiles (PROFILE_OIDS) and the e-mail/UPN domains (ALLOWED_DOMAINS) the broker
 * serves. Checked before anything reaches the CA. Pure: settings and the request in, a refusal out.
 */
import { BrokerError } from '../contract/errors';
import type { PkcsRequest } from '../contract/types';
import { parseSubjectName } from '../mapping';

export interface GuardrailSettings {
  /** PROFILE_OIDS: when not empty, the only profiles served. */
  profileOids: readonly string[];
  /** ALLOWED_DOMAINS: when not empty, `example.com` (exactly) or `*.example.com` (its subdomains). */
  allowedDomains: readonly string[];
}

/** Throws BrokerError REQUEST_NOT_ALLOWED naming the guardrail and the setting when the request breaks one. */
export function assertRequestAllowed(request: PkcsRequest, settings: GuardrailSettings): void {
  if (settings.profileOids.length > 0 && !settings.profileOids.includes(request.certificateTemplateName)) {
    throw new BrokerError(
      'REQUEST_NOT_ALLOWED',
      `certificateTemplateName ${request.certificateTemplateName} is not one of the profiles this broker serves (PROFILE_OIDS).`,
      {
        remedy:
          'Use a DigiCert profile listed in PROFILE_OIDS, or add this profile OID to PROFILE_OIDS if the broker should serve it.',
      },
    );
  }
  if (settings.allowedDomains.length === 0) return;
  for (const { field, address } of addressesOf(request)) {
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    if (!settings.allowedDomains.some((allowed) => domainMatches(domain, allowed))) {
      // The domain is named, not the address: the local part identifies a person.
      throw new BrokerError(
        'REQUEST_NOT_ALLOWED',
        `${field} is in the domain "${domain}", which is not in ALLOWED_DOMAINS.`,
        {
          remedy:
            'Send requests only for users and devices of the allowed domains, or add the domain to ALLOWED_DOMAINS (write *.example.com for its subdomains).',
        },
      );
    }
  }
}

/** `example.com` matches exactly that domain; `*.example.com` matches its subdomains (not itself). */
export function domainMatches(domain: string, allowed: string): boolean {
  const rule = allowed.toLowerCase();
  if (rule.startsWith('*.')) return domain.endsWith(rule.slice(1));
  return domain === rule;
}

/** Every e-mail address and UPN the request would put into the certificate, with the field it came from. */
function addressesOf(request: PkcsRequest): { field: string; address: string }[] {
  const addresses: { field: string; address: string }[] = [];
  (request.subjectAlternativeNames ?? []).forEach((entry, index) => {
    if (entry.type !== 'AltNameTypeOtherName' && entry.value.includes('@')) {
      addresses.push({ field: `subjectAlternativeNames[${index}] (${entry.type})`, address: entry.value });
    }
  });
  let subjectEmail: string | undefined;
  try {
    subjectEmail = parseSubjectName(request.subjectName).email;
  } catch {
    // An unreadable subject is refused by the mapping with its own words.
    subjectEmail = undefined;
  }
  if (subjectEmail !== undefined) addresses.push({ field: 'subjectName (e-mail)', address: subjectEmail });
  return addresses;
}
