import { X509Certificate } from 'node:crypto';
import {
  issueCertificate,
  prepareIssuingAuthority,
  type SanEntry,
  type SubjectEntry,
} from '../../../dev/simulator/issuer';
import { generateKeyPair, parseIssuedToken, type KeyPair } from '../../../shared/crypto';
import { identityMismatch, type RequestedNames } from '../../../shared/crypto/issuedIdentity';
import { createTestPki, expectBrokerError, type TestPki } from './fixtures';

const ADELE = 'adele.vance@contoso.example';
const REQUESTED: RequestedNames = {
  csrSubject: [
    { shortName: 'CN', value: 'Adele Vance' },
    { shortName: 'E', value: ADELE },
  ],
  csrSan: [
    { kind: 'email', value: ADELE },
    { kind: 'upn', value: ADELE },
  ],
};

let keys: KeyPair;
let pki: TestPki;

beforeAll(async () => {
  keys = await generateKeyPair(2048);
  pki = createTestPki(keys.publicKey);
});

function issued(subject: SubjectEntry[], san: SanEntry[]) {
  const authority = prepareIssuingAuthority(
    { certPem: pki.issuing.certPem, keyPem: pki.issuing.keyPem! },
    { certPem: pki.root.certPem },
  );
  return issueCertificate(
    {
      publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      subject,
      san,
      validityDays: 30,
    },
    authority,
  );
}

const mismatchOf = (subject: SubjectEntry[], san: SanEntry[], requested = REQUESTED) =>
  identityMismatch(new X509Certificate(issued(subject, san).leafDer), requested);

describe('identityMismatch', () => {
  it('takes a certificate naming the requested e-mail and UPN (any case), with more names beside them', () => {
    expect(
      mismatchOf(
        [
          { rdn: 'CN', value: 'Vance, Adele (IT)' },
          { rdn: 'emailAddress', value: ADELE },
        ],
        [
          { kind: 'email', value: ADELE.toUpperCase() },
          { kind: 'email', value: 'helpdesk@contoso.example' },
          { kind: 'upn', value: ADELE },
        ],
      ),
    ).toBeUndefined();
  });

  it('takes a certificate whose profile leaves a kind of name out', () => {
    expect(
      mismatchOf([{ rdn: 'CN', value: 'Adele Vance' }], [{ kind: 'upn', value: ADELE }]),
    ).toBeUndefined();
    expect(mismatchOf([{ rdn: 'CN', value: 'Adele Vance' }], [])).toBeUndefined();
  });

  it('refuses a certificate for another e-mail address, UPN or both, quoting none of them', () => {
    const other = 'megan.bowen@contoso.example';
    expect(
      mismatchOf(
        [],
        [
          { kind: 'email', value: other },
          { kind: 'upn', value: ADELE },
        ],
      ),
    ).toBe('it names other people: it lacks the requested e-mail address');
    expect(mismatchOf([{ rdn: 'emailAddress', value: ADELE }], [{ kind: 'upn', value: other }])).toBe(
      'it names other people: it lacks the requested UPN',
    );
    expect(
      mismatchOf(
        [],
        [
          { kind: 'email', value: other },
          { kind: 'upn', value: other },
        ],
      ),
    ).toBe('it names other people: it lacks the requested e-mail address and the requested UPN');
  });

  it('reads names with commas and quotes as Node quotes them', () => {
    const odd = '"adele, v"@contoso.example';
    expect(
      mismatchOf([], [{ kind: 'email', value: odd }], {
        csrSubject: [],
        csrSan: [{ kind: 'email', value: odd }],
      }),
    ).toBeUndefined();
  });
});

describe('parseIssuedToken with the requested names', () => {
  it('refuses a certificate for another person as CA_REJECTED before any PFX', async () => {
    const chain = issued(
      [{ rdn: 'CN', value: 'Someone Else' }],
      [{ kind: 'email', value: 'x@fabrikam.example' }],
    );
    await expectBrokerError(
      () => parseIssuedToken({ tokenDer: chain.pkcs7Der, tokenType: 'PKCS7' }, keys.publicKey, [], REQUESTED),
      'CA_REJECTED',
      /issued a certificate for our key, but it names other people: it lacks the requested e-mail address/,
    );
  });
});
