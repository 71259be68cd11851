/**
 * Whether the certificate the CA issued names the person we asked for: every e-mail address and UPN the
 * enrollment put in the CSR's SAN (and the subject's E) must be in the certificate when it carries names of
 * that kind. The CN is left out on purpose: a profile may compose it (first and last name) where the request
 * has one value; the e-mail and the UPN are what S/MIME and Windows sign-in bind to.
 */
import type { X509Certificate } from 'node:crypto';
import type { EnrollmentPlan } from '../mapping/types';

/** What the enrollment asked for, in the plan's terms. */
export type RequestedNames = Pick<EnrollmentPlan, 'csrSan' | 'csrSubject'>;

const SAN_ENTRY = /(?:^|, )(email|othername:UPN):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/** E-mail addresses and UPNs of Node's subjectAltName text (values with special characters come quoted). */
function sanNames(text: string | undefined): { emails: string[]; upns: string[] } {
  const emails: string[] = [];
  const upns: string[] = [];
  for (const match of (text ?? '').matchAll(SAN_ENTRY)) {
    const raw = match[2] ?? '';
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw;
      }
    }
    (match[1] === 'email' ? emails : upns).push(value);
  }
  return { emails, upns };
}

function subjectEmails(certificate: X509Certificate): string[] {
  const subject = certificate.toLegacyObject().subject as unknown as Record<string, string | string[]>;
  const value = subject.emailAddress;
  return value === undefined ? [] : [value].flat();
}

function missing(requested: readonly string[], present: readonly string[]): string[] {
  if (present.length === 0) return [];
  const known = new Set(present.map((name) => name.toLowerCase()));
  return requested.filter((name) => !known.has(name.toLowerCase()));
}

/** Why the certificate is not for the requested person (no names quoted), or undefined when it is. */
export function identityMismatch(
  certificate: X509Certificate,
  requested: RequestedNames,
): string | undefined {
  const inCertificate = sanNames(certificate.subjectAltName);
  const emails = [...inCertificate.emails, ...subjectEmails(certificate)];
  const askedEmails = [
    ...requested.csrSan.flatMap((entry) => (entry.kind === 'email' ? [entry.value] : [])),
    ...requested.csrSubject.filter((entry) => entry.shortName === 'E').map((entry) => entry.value),
  ];
  const askedUpns = requested.csrSan.flatMap((entry) => (entry.kind === 'upn' ? [entry.value] : []));
  // The names themselves stay out of the message: they are personal data, and the CA's may be anything.
  const problems: string[] = [];
  if (missing(askedEmails, emails).length > 0) problems.push('the requested e-mail address');
  if (missing(askedUpns, inCertificate.upns).length > 0) problems.push('the requested UPN');
  return problems.length === 0 ? undefined : `it names other people: it lacks ${problems.join(' and ')}`;
}
