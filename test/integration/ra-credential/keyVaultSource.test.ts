/**
 * KeyVaultRaCredentialSource with the real @azure/keyvault-* clients and @azure/identity against the Key
 * Vault stand-in: 401 challenge, managed-identity tokens, every failure the admin can meet, and rotation.
 *
 * Trust: jest runs in-process, where NODE_EXTRA_CA_CERTS cannot be set any more, so these tests pass the
 * stand-in's TLS root through the test-only `trustedCaPemForTests`. keyVaultChildProcess.test.ts covers the
 * production configuration (NODE_EXTRA_CA_CERTS, no test option) in a child process.
 */
import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { BrokerError } from '../../../shared/contract/errors';
import {
  CachedRaCredentialSource,
  KeyVaultRaCredentialSource,
  type KeyVaultRaCredentialSourceOptions,
} from '../../../shared/ra-credential';
import {
  createStandInTls,
  startKeyVaultStandIn,
  type KeyVaultStandIn,
} from '../../../dev/keyvault-standin/server';
import { buildPem, buildPfx, createRaFixtures, thumbprint, type RaFixtures } from './raFixtures';
import { failureOf } from '../../support/brokerErrors';
import { useManagedIdentityOf } from '../../support/identityStack';

let fixtures: RaFixtures;
let tls: ReturnType<typeof createStandInTls>;
let vault: KeyVaultStandIn;
let restoreEnvironment: () => void;

beforeAll(async () => {
  fixtures = createRaFixtures();
  tls = createStandInTls();
  vault = await startKeyVaultStandIn({ tls: { certPem: tls.certPem, keyPem: tls.keyPem } });
  // What Azure Functions sets for a managed identity; DefaultAzureCredential reads it when constructed.
  restoreEnvironment = useManagedIdentityOf(vault);
});

afterAll(async () => {
  restoreEnvironment?.();
  await vault?.close();
});

function source(
  certificateName: string,
  options: Partial<KeyVaultRaCredentialSourceOptions> = {},
): KeyVaultRaCredentialSource {
  return new KeyVaultRaCredentialSource({
    vaultUrl: vault.url,
    certificateName,
    credential: vault.credential,
    trustedCaPemForTests: tls.rootCertPem,
    maxRetries: 0,
    ...options,
  });
}

async function failure(load: Promise<unknown>): Promise<BrokerError> {
  const brokerError = await failureOf(load);
  expect(brokerError.code).toBe('RA_CERT_UNAVAILABLE');
  // Key material never leaks into what is reported.
  const reported = `${brokerError.message} ${brokerError.remedy} ${String(brokerError.cause)}`;
  expect(reported).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  return brokerError;
}

function requestsFor(name: string) {
  return vault.requests.filter((request) => request.name === name);
}

describe('KeyVaultRaCredentialSource against the stand-in', () => {
  it('loads the RA credential through DefaultAzureCredential → App Service MSI endpoint → Key Vault (401 challenge first)', async () => {
    const stored = vault.putCertificate('ra-dac', {
      pfx: buildPfx(fixtures.ra, { password: 'import-pw', chain: [fixtures.raCa] }),
      password: 'import-pw',
    });
    const tokenRequestsBefore = vault.tokenRequests.length;
    const loaded = await source('ra-dac', { credential: new DefaultAzureCredential() }).load();

    expect(loaded.thumbprint).toBe(thumbprint(fixtures.ra));
    expect(loaded.thumbprint).toBe(stored.thumbprint);
    expect(loaded.subject).toBe('CN=Dev RA, O=Contoso');
    expect(loaded.source).toBe(`Key Vault certificate "ra-dac" (version ${stored.version}) in ${vault.url}`);
    expect(loaded.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(
      new X509Certificate(loaded.certificatePem).checkPrivateKey(createPrivateKey(loaded.privateKeyPem)),
    ).toBe(true);
    expect(loaded.chainPem).toHaveLength(1);
    expect(new X509Certificate(loaded.chainPem[0]!).subject).toContain('CN=Dev DigiCert RA CA');
    expect(loaded.notAfter.getTime()).toBe(
      fixtures.ra.cert.validity.notAfter.getTime() - (fixtures.ra.cert.validity.notAfter.getTime() % 1000),
    );

    // The managed-identity request as msal-node sends it to App Service.
    const tokenRequests = vault.tokenRequests.slice(tokenRequestsBefore);
    expect(tokenRequests.length).toBeGreaterThanOrEqual(1);
    expect(tokenRequests[0]).toEqual({
      resource: 'https://vault.azure.net',
      apiVersion: '2019-08-01',
      identityHeaderValid: true,
      status: 200,
    });
    // Each client: unauthenticated request → 401 challenge → retried with the stand-in's token.
    const seen = requestsFor('ra-dac').map(
      (request) => `${request.kind} ${request.authorization} ${request.status}`,
    );
    expect(seen).toEqual([
      'certificates none 401',
      'certificates issued 200',
      'secrets none 401',
      `secrets issued 200`,
    ]);
    expect(requestsFor('ra-dac')[3]!.version).toBe(stored.version);
  });

  it('reads a PEM secret (application/x-pem-file) with its chain', async () => {
    vault.putCertificate('ra-pem', { pem: buildPem(fixtures.ra, { chain: [fixtures.raCa] }) });
    const loaded = await source('ra-pem').load();
    expect(loaded.thumbprint).toBe(thumbprint(fixtures.ra));
    expect(loaded.chainPem).toHaveLength(1);
  });

  it('reads a PFX served as imported (password-less, with MAC-less key bag) and honours a matching pin', async () => {
    vault.putCertificate('ra-raw', { pfx: buildPfx(fixtures.ra, { password: null }) });
    const pin = thumbprint(fixtures.ra).toLowerCase().replace(/(..)/g, '$1 ');
    const loaded = await source('ra-raw', { thumbprintPin: pin }).load();
    expect(loaded.thumbprint).toBe(thumbprint(fixtures.ra));
    expect(loaded.chainPem).toEqual([]);
  });

  it('missing certificate: 404 names the vault and the name, remedy says to import it', async () => {
    const error = await failure(source('no-such-ra').load());
    expect(error.message).toBe(
      `RA certificate from Key Vault certificate "no-such-ra" in ${vault.url}: missing: the vault has no certificate named "no-such-ra" (404 CertificateNotFound).`,
    );
    expect(error.remedy).toMatch(/Import the DigiCert RA certificate .* under the name "no-such-ra"/);
    expect(error.retryable).toBe(false);
  });

  it('missing secret: the certificate exists but its key material does not', async () => {
    const stored = vault.putCertificate('ra-nosecret', { pfx: buildPfx(fixtures.ra, { password: null }) });
    vault.deleteSecret('ra-nosecret');
    const error = await failure(source('ra-nosecret').load());
    expect(error.message).toContain(`(version ${stored.version})`);
    expect(error.message).toContain(
      `its secret "ra-nosecret" version ${stored.version} holding the private key was not found (404 SecretNotFound)`,
    );
    expect(error.remedy).toMatch(/Re-import the RA certificate with its private key/);
  });

  it('non-exportable key policy: fails from the metadata, without reading the secret', async () => {
    vault.putCertificate('ra-nonexportable', {
      pfx: buildPfx(fixtures.ra, { password: 'pw' }),
      password: 'pw',
      exportable: false,
    });
    const error = await failure(source('ra-nonexportable').load());
    expect(error.message).toMatch(/no private key: the key policy is not exportable/);
    expect(error.remedy).toMatch(/exportable key policy/);
    expect(requestsFor('ra-nonexportable').some((request) => request.kind === 'secrets')).toBe(false);
  });

  it('exportable but the secret holds no private key (certificate imported without key)', async () => {
    vault.putCertificate('ra-nokey', { pem: fixtures.ra.certPem });
    const error = await failure(source('ra-nokey').load());
    expect(error.message).toMatch(
      /no private key: the RA certificate [0-9A-F]{40} came without its private key/,
    );
    expect(error.remedy).toMatch(/together with its private key/);
  });

  it('private key that does not belong to the certificate', async () => {
    vault.putCertificate('ra-mismatch', { pem: buildPem(fixtures.ra, { keyPem: fixtures.strangerKeyPem }) });
    const error = await failure(source('ra-mismatch').load());
    expect(error.message).toMatch(/private key does not match the certificate/);
    expect(error.message).toContain(thumbprint(fixtures.ra));
  });

  it('no client-authentication EKU', async () => {
    vault.putCertificate('ra-noeku', { pfx: buildPfx(fixtures.noEku, { password: null }) });
    const error = await failure(source('ra-noeku').load());
    expect(error.message).toMatch(
      /no Client Authentication extended key usage: .* has no EKU extension, but mutual TLS with DigiCert needs 1\.3\.6\.1\.5\.5\.7\.3\.2/,
    );
    expect(error.remedy).toMatch(/Get an RA Cert/);
  });

  it('expired and not yet valid', async () => {
    vault.putCertificate('ra-expired', { pfx: buildPfx(fixtures.expired, { password: null }) });
    const expired = await failure(source('ra-expired').load());
    expect(expired.message).toMatch(
      /expired: certificate [0-9A-F]{40} \(CN=Dev RA expired\) expired on \d{4}-/,
    );
    expect(expired.remedy).toMatch(/Renew the RA certificate at DigiCert \("Get an RA Cert"/);
    expect(expired.remedy).toContain('as a new version of "ra-expired"');

    vault.putCertificate('ra-future', { pfx: buildPfx(fixtures.notYetValid, { password: null }) });
    const future = await failure(source('ra-future').load());
    expect(future.message).toMatch(/not yet valid: certificate [0-9A-F]{40} is valid from/);
  });

  it('thumbprint pin mismatch names the actual thumbprint as the fix', async () => {
    vault.putCertificate('ra-pinned', { pfx: buildPfx(fixtures.ra, { password: null }) });
    const pin = thumbprint(fixtures.raNext);
    const error = await failure(source('ra-pinned', { thumbprintPin: pin }).load());
    expect(error.message).toContain(
      `thumbprint pin mismatch: the certificate's SHA-1 thumbprint is ${thumbprint(fixtures.ra)}, RA_CERT_THUMBPRINT is ${pin}.`,
    );
    expect(error.remedy).toContain(`update RA_CERT_THUMBPRINT to ${thumbprint(fixtures.ra)}`);
    expect(error.remedy).toContain(`import into "ra-pinned" the pinned certificate ${pin}`);
  });

  it('403 on the secret: remedy names Key Vault Certificate User, which reads the private key', async () => {
    vault.putCertificate('ra-forbidden', { pfx: buildPfx(fixtures.ra, { password: null }) });
    vault.setForbidden('ra-forbidden', ['secrets']);
    const error = await failure(source('ra-forbidden').load());
    expect(error.message).toMatch(
      /Key Vault denied reading the secret "ra-forbidden" \(the private key\): 403 Forbidden \(.*does not have secrets get permission/,
    );
    expect(error.remedy).toMatch(
      /The private key is read as the certificate's secret: grant .*"Key Vault Certificate User"/,
    );
    expect(error.retryable).toBe(false);

    vault.setForbidden('ra-forbidden', ['certificates']);
    const onCertificate = await failure(source('ra-forbidden').load());
    expect(onCertificate.message).toMatch(
      /certificate "ra-forbidden": 403 Forbidden \(.*does not have certificates get permission/,
    );
    expect(onCertificate.remedy).toMatch(/"Key Vault Certificate User"/);
    vault.setForbidden('ra-forbidden', []);
    await expect(source('ra-forbidden').load()).resolves.toMatchObject({
      thumbprint: thumbprint(fixtures.ra),
    });
  });

  it('401: a token the vault did not issue is denied', async () => {
    vault.putCertificate('ra-401', { pfx: buildPfx(fixtures.ra, { password: null }) });
    const foreign: TokenCredential = {
      getToken: async () => ({
        token: 'not-issued-by-this-vault',
        expiresOnTimestamp: Date.now() + 3600_000,
      }),
    };
    const error = await failure(source('ra-401', { credential: foreign }).load());
    expect(error.message).toMatch(/Key Vault denied reading the certificate "ra-401": 401/);
    expect(error.remedy).toMatch(/Key Vault Certificate User/);
    expect(error.message).not.toContain('not-issued-by-this-vault');
  });

  it('a disabled certificate version is reported as disabled', async () => {
    vault.putCertificate('ra-disabled', { pfx: buildPfx(fixtures.ra, { password: null }), enabled: false });
    const error = await failure(source('ra-disabled').load());
    expect(error.message).toMatch(/disabled: the current version of the certificate is disabled/);
  });

  it('network failure is transient (retryable) and names the vault', async () => {
    const gone = await startKeyVaultStandIn({ tls: { certPem: tls.certPem, keyPem: tls.keyPem } });
    const url = gone.url;
    await gone.close();
    const error = await failure(source('ra-dac', { vaultUrl: url }).load());
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(
      /Key Vault could not be reached while reading the certificate "ra-dac": ECONNREFUSED/,
    );
    expect(error.remedy).toContain(url);
  });

  it('an untrusted vault certificate is a TLS trust failure, not retried, and TLS stays verified', async () => {
    const error = await failure(source('ra-dac', { trustedCaPemForTests: undefined }).load());
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/the TLS connection to Key Vault failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(error.remedy).toMatch(/NODE_EXTRA_CA_CERTS/);
  });

  it('no managed identity token (identity not assigned to the app) is reported as denied', async () => {
    // AZURE_CLIENT_ID names a user-assigned identity the "app" does not have: App Service answers 400.
    // (msal-node reads IDENTITY_ENDPOINT/IDENTITY_HEADER once per process, so those cannot be varied here.)
    process.env.AZURE_TOKEN_CREDENTIALS = 'ManagedIdentityCredential';
    const unknownClientId = randomUUID();
    process.env.AZURE_CLIENT_ID = unknownClientId;
    try {
      const error = await failure(source('ra-dac', { credential: new DefaultAzureCredential() }).load());
      expect(error.message).toMatch(
        /Key Vault denied: no access token for https:\/\/vault\.azure\.net could be obtained from the managed identity \(AggregateAuthenticationError: .*Unable to load the proper Managed Identity/,
      );
      expect(error.remedy).toMatch(/Turn on the Function App's managed identity/);
      expect(error.retryable).toBe(false);
    } finally {
      delete process.env.AZURE_TOKEN_CREDENTIALS;
      delete process.env.AZURE_CLIENT_ID;
    }
    expect(vault.tokenRequests.at(-1)).toMatchObject({ userAssignedId: unknownClientId, status: 400 });
  });
});

describe('rotation through CachedRaCredentialSource', () => {
  it('keeps the loaded version until invalidate() or the TTL, then picks up the new version', async () => {
    vault.putCertificate('ra-rotating', { pfx: buildPfx(fixtures.ra, { password: null }) });
    let clock = Date.now();
    const cached = new CachedRaCredentialSource({
      source: source('ra-rotating'),
      ttlMs: 60_000,
      now: () => new Date(clock),
    });
    expect((await cached.load()).thumbprint).toBe(thumbprint(fixtures.ra));

    const next = vault.putCertificate('ra-rotating', { pfx: buildPfx(fixtures.raNext, { password: null }) });
    expect((await cached.load()).thumbprint).toBe(thumbprint(fixtures.ra));

    cached.invalidate();
    const rotated = await cached.load();
    expect(rotated.thumbprint).toBe(thumbprint(fixtures.raNext));
    expect(rotated.source).toContain(`(version ${next.version})`);

    vault.putCertificate('ra-rotating', { pfx: buildPfx(fixtures.ra, { password: null }) });
    expect((await cached.load()).thumbprint).toBe(thumbprint(fixtures.raNext));
    clock += 60_001;
    expect((await cached.load()).thumbprint).toBe(thumbprint(fixtures.ra));
  });
});
