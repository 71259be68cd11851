/**
 * The wrongCertificate fault: the CA issues (and records) a certificate the client must refuse — for a key
 * other than the CSR's, for another person, or signed by a key other than that of the issuing CA it names
 * (the PKCS#7 still carries the real issuing CA and root, so the chain looks right until it is verified).
 * No RSA key is generated on the request path: that can take seconds on a loaded machine.
 */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import type { WrongCertificate } from './faultModel';
import type { IssueRequest, IssuingAuthority } from './issuer';

const SOMEONE_ELSE = 'someone.else@fabrikam.example';

export function wrongIssue(
  what: WrongCertificate,
  issue: IssueRequest,
  authority: IssuingAuthority,
): { issue: IssueRequest; authority: IssuingAuthority } {
  switch (what) {
    case 'otherKey': {
      // Any RSA key but the CSR's will do: the issuing CA's own is at hand.
      const publicKeyPem = forge.pki.publicKeyToPem(authority.cert.publicKey);
      return { issue: { ...issue, publicKeyPem }, authority };
    }
    case 'otherSubject':
      return {
        issue: {
          ...issue,
          subject: issue.subject.map((entry) =>
            entry.rdn === 'CN'
              ? { ...entry, value: 'Someone Else' }
              : entry.rdn === 'emailAddress'
                ? { ...entry, value: SOMEONE_ELSE }
                : entry,
          ),
          san: issue.san.map((entry) =>
            entry.kind === 'email' || entry.kind === 'upn' ? { ...entry, value: SOMEONE_ELSE } : entry,
          ),
        },
        authority,
      };
    case 'brokenChain': {
      // Same issuer name and key identifier, another signing key (a P-256 one, made in a millisecond): only
      // the signature check tells.
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      return { issue, authority: { ...authority, signingKey: privateKey } };
    }
  }
}
