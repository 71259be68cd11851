/**
 * The CA certificates a profile's policy carries (issuing CA, intermediates, root), read for the Intune
 * trusted-certificate profile: each parsed, de-duplicated, classed as root (self-signed) or intermediate,
 * and named after its subject CN. Entries that are not certificates (placeholders) are skipped and said so.
 * Each entry is read by the broker's own rule (crypto/token.ts readPolicyCaCertificate), so what is exported
 * is what the broker completes chains with.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readPolicyCaCertificate } from '../crypto/token';
import type { ProfilePolicy } from '../digicert/types';

export type CaRole = 'root' | 'intermediate';

export interface PolicyCaCertificate {
  role: CaRole;
  der: Buffer;
  certificate: X509Certificate;
  /** "CN=Dev DigiCert Root CA, O=…", most specific first. */
  subject: string;
  issuer: string;
  commonName?: string;
  /** Upper-case hex SHA-1 (what Windows and Intune show). */
  thumbprint: string;
  thumbprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  /** Subject of the certificate among these that signed it, if any. */
  signedBy?: string;
  /** A file name from the subject CN: `Dev-DigiCert-Root-CA.cer`. */
  fileName: string;
}

export interface PolicyCaCertificates {
  /** Roots first, then intermediates from the root down to the issuing CA. */
  certificates: PolicyCaCertificate[];
  /** What was left out and why (placeholders, non-CA certificates). */
  skipped: string[];
}

function distinguishedName(text: string): string {
  return text.split('\n').reverse().join(', ');
}

function commonNameOf(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('CN=')) return line.slice(3);
  }
  return undefined;
}

function hex(algorithm: 'sha1' | 'sha256', der: Buffer): string {
  return createHash(algorithm).update(der).digest('hex').toUpperCase();
}

/** Letters, digits, dot, dash and underscore; runs of anything else become one dash. */
export function certificateFileName(commonName: string | undefined, thumbprint: string): string {
  const base = (commonName ?? '')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return `${base === '' ? thumbprint : base}.cer`;
}

function signs(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

interface Candidate {
  base64: string;
  where: string;
}

function candidatesOf(policy: ProfilePolicy): Candidate[] {
  const list: Candidate[] = [];
  policy.cas.forEach((ca, index) => {
    const entry = policy.cas.length > 1 ? ` of CA entry ${index + 1}` : '';
    if (ca.root !== undefined) list.push({ base64: ca.root, where: `root CA certificate${entry}` });
    ca.intermediates.forEach((intermediate, position) =>
      list.push({ base64: intermediate, where: `intermediate CA certificate ${position + 1}${entry}` }),
    );
    if (ca.issuingCa !== undefined)
      list.push({ base64: ca.issuingCa, where: `issuing CA certificate${entry}` });
  });
  return list;
}

function parse(candidate: Candidate): { der: Buffer; certificate: X509Certificate } | string {
  const read = readPolicyCaCertificate(candidate.base64);
  if (read === undefined) return `${candidate.where}: not a certificate (not base64; a placeholder?)`;
  if (read.certificate === undefined) {
    return `${candidate.where}: not a certificate (${read.der.length} bytes that do not parse as X.509; a placeholder?)`;
  }
  return { der: read.der, certificate: read.certificate };
}

/** Depth from a root among `all`: 0 for a root, 1 for what a root signed, …; unknown parents sort last. */
function depthOf(
  certificate: X509Certificate,
  all: X509Certificate[],
  seen = new Set<X509Certificate>(),
): number {
  if (seen.has(certificate)) return 0;
  seen.add(certificate);
  if (signs(certificate, certificate)) return 0;
  const parent = all.find((other) => other !== certificate && signs(other, certificate));
  return parent === undefined ? 1 : 1 + depthOf(parent, all, seen);
}

export function policyCaCertificates(policy: ProfilePolicy): PolicyCaCertificates {
  const skipped: string[] = [];
  const parsed: { der: Buffer; certificate: X509Certificate }[] = [];
  const seen = new Set<string>();
  for (const candidate of candidatesOf(policy)) {
    const result = parse(candidate);
    if (typeof result === 'string') {
      skipped.push(result);
      continue;
    }
    const thumbprint = hex('sha1', result.der);
    if (seen.has(thumbprint)) continue;
    seen.add(thumbprint);
    if (!result.certificate.ca) {
      skipped.push(
        `${candidate.where}: ${distinguishedName(result.certificate.subject)} is not a CA certificate (basicConstraints CA is not set)`,
      );
      continue;
    }
    parsed.push(result);
  }
  const all = parsed.map((entry) => entry.certificate);
  const usedNames = new Map<string, number>();
  const certificates = parsed
    .map(({ der, certificate }) => ({ der, certificate, depth: depthOf(certificate, all) }))
    .sort((a, b) => a.depth - b.depth)
    .map(({ der, certificate }): PolicyCaCertificate => {
      const thumbprint = hex('sha1', der);
      const commonName = commonNameOf(certificate.subject);
      let fileName = certificateFileName(commonName, thumbprint);
      // Two certificates with one CN (a renewed or cross-signed CA): the later one gets its thumbprint added.
      const count = usedNames.get(fileName.toLowerCase()) ?? 0;
      usedNames.set(fileName.toLowerCase(), count + 1);
      if (count > 0) fileName = fileName.replace(/\.cer$/, `-${thumbprint.slice(0, 8)}.cer`);
      const issuer = all.find((other) => other !== certificate && signs(other, certificate));
      const selfSigned = signs(certificate, certificate);
      const exported: PolicyCaCertificate = {
        role: selfSigned ? 'root' : 'intermediate',
        der,
        certificate,
        subject: distinguishedName(certificate.subject),
        issuer: distinguishedName(certificate.issuer),
        thumbprint,
        thumbprintSha256: hex('sha256', der),
        notBefore: new Date(certificate.validFrom),
        notAfter: new Date(certificate.validTo),
        fileName,
      };
      if (commonName !== undefined) exported.commonName = commonName;
      if (issuer !== undefined) exported.signedBy = distinguishedName(issuer.subject);
      return exported;
    });
  return { certificates, skipped };
}
