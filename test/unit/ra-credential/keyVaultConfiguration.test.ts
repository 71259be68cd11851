/**
 * Choosing the source from settings, Key Vault client options, and how Key Vault failures are classified
 * (statuses the stand-in cannot easily produce: throttling, 5xx, DNS).
 */
import { readSettings } from '../../../shared/config/settings';
import { BrokerError } from '../../../shared/contract/errors';
import {
  createRaCredentialSource,
  FileRaCredentialSource,
  isLoopbackVault,
  KeyVaultRaCredentialSource,
  keyVaultClientOptions,
} from '../../../shared/ra-credential';
import { keyVaultFailure } from '../../../shared/ra-credential/keyVaultFailure';
import type { RaLocation } from '../../../shared/ra-credential/checks';
import { failureOf } from '../../support/brokerErrors';

const noToken = { getToken: async () => null };

function loadError(env: Record<string, string>): Promise<BrokerError> {
  return failureOf(createRaCredentialSource(readSettings(env)).load());
}

describe('createRaCredentialSource', () => {
  it('names every missing setting, through load(), not at construction', async () => {
    const error = await loadError({});
    expect(error.code).toBe('RA_CERT_UNAVAILABLE');
    expect(error.message).toBe(
      'RA certificate not configured: KEY_VAULT_URL and RA_CERTIFICATE_NAME are not set (and no RA_CERTIFICATE_PFX_FILE either).',
    );
    expect(error.retryable).toBe(false);
    expect((await loadError({ KEY_VAULT_URL: 'https://contoso.vault.azure.net' })).message).toContain(
      'RA_CERTIFICATE_NAME is not set',
    );
  });

  it('reports a malformed KEY_VAULT_URL or certificate name', async () => {
    expect(
      (await loadError({ KEY_VAULT_URL: 'contoso.vault.azure.net', RA_CERTIFICATE_NAME: 'ra' })).message,
    ).toBe('KEY_VAULT_URL "contoso.vault.azure.net" is not a URL.');
    expect(
      (await loadError({ KEY_VAULT_URL: 'http://contoso.vault.azure.net', RA_CERTIFICATE_NAME: 'ra' }))
        .message,
    ).toMatch(/must be an https URL/);
    expect(
      (await loadError({ KEY_VAULT_URL: 'https://contoso.vault.azure.net', RA_CERTIFICATE_NAME: 'ra_cert' }))
        .message,
    ).toMatch(/RA_CERTIFICATE_NAME "ra_cert" is not a valid Key Vault certificate name/);
  });

  it('returns a cache that can be invalidated', () => {
    const source = createRaCredentialSource(readSettings({ RA_CERTIFICATE_PFX_FILE: '/x.pfx' }));
    expect(typeof source.invalidate).toBe('function');
  });
});

describe('Key Vault client options', () => {
  it('keeps challenge resource verification for real vaults, drops it only on loopback', () => {
    expect(
      keyVaultClientOptions('https://contoso.vault.azure.net').disableChallengeResourceVerification,
    ).toBe(false);
    expect(keyVaultClientOptions('https://contoso.vault.azure.cn').disableChallengeResourceVerification).toBe(
      false,
    );
    expect(keyVaultClientOptions('https://localhost.contoso.com').disableChallengeResourceVerification).toBe(
      false,
    );
    for (const url of ['https://127.0.0.1:4433', 'https://localhost:4433', 'https://[::1]:4433']) {
      expect(isLoopbackVault(url)).toBe(true);
      expect(keyVaultClientOptions(url).disableChallengeResourceVerification).toBe(true);
    }
  });

  it('adds trust only when the test-only trust option is given (and then keeps Node roots); TLS 1.2 always', () => {
    // Without `ca` the SDK's agent keeps Node's default trust store.
    expect(keyVaultClientOptions('https://contoso.vault.azure.net').tlsOptions).toEqual({
      minVersion: 'TLSv1.2',
    });
    const withTrust = keyVaultClientOptions('https://127.0.0.1:1', { trustedCaPemForTests: 'PEM' });
    expect(withTrust.tlsOptions).toMatchObject({ minVersion: 'TLSv1.2' });
    const ca = withTrust.tlsOptions?.ca as string[];
    expect(ca.at(-1)).toBe('PEM');
    expect(ca.length).toBeGreaterThan(1);
  });

  it('constructs without a credential (DefaultAzureCredential) and validates eagerly', () => {
    expect(
      () =>
        new KeyVaultRaCredentialSource({
          vaultUrl: 'https://contoso.vault.azure.net/',
          certificateName: 'ra',
        }),
    ).not.toThrow();
    expect(
      () =>
        new KeyVaultRaCredentialSource({
          vaultUrl: 'https://x/path',
          certificateName: 'ra',
          credential: noToken,
        }),
    ).toThrow(BrokerError);
    expect(new FileRaCredentialSource({ pfxFile: '/x.pfx' })).toBeDefined();
  });
});

describe('keyVaultFailure', () => {
  const location: RaLocation = {
    kind: 'key-vault',
    vaultUrl: 'https://contoso.vault.azure.net',
    certificateName: 'ra',
    version: 'abc',
  };

  function restError(statusCode: number | undefined, code: string | undefined, message: string): Error {
    const error = new Error(message) as Error & { statusCode?: number; code?: string; request?: unknown };
    error.name = 'RestError';
    if (statusCode !== undefined) error.statusCode = statusCode;
    if (code !== undefined) error.code = code;
    error.request = { headers: { authorization: 'Bearer secret-token' } };
    return error;
  }

  it.each([
    [429, 'Throttled'],
    [500, 'InternalServerError'],
    [503, 'ServiceUnavailable'],
  ])('%i is transient', (status, code) => {
    const error = keyVaultFailure(restError(status, code, 'try later'), 'secret', location);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(
      `Key Vault is unavailable or throttling: ${status} ${code} while reading the secret "ra" (the private key)`,
    );
  });

  it.each(['ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT'])(
    'network error %s is transient and names KEY_VAULT_URL',
    (code) => {
      const error = keyVaultFailure(
        restError(undefined, code, `getaddrinfo ${code}`),
        'certificate',
        location,
      );
      expect(error.retryable).toBe(true);
      expect(error.remedy).toContain('KEY_VAULT_URL (https://contoso.vault.azure.net)');
    },
  );

  it('keeps the bearer token out of the message and the cause', () => {
    const error = keyVaultFailure(
      restError(401, 'Unauthorized', 'AKV10032: Invalid issuer.'),
      'certificate',
      location,
    );
    expect(error.retryable).toBe(false);
    expect(`${error.message} ${error.remedy} ${String(error.cause)} ${JSON.stringify(error)}`).not.toContain(
      'secret-token',
    );
    expect(String(error.cause)).toBe('Error: RestError 401 Unauthorized: AKV10032: Invalid issuer.');
  });

  it('a disabled secret (403 SecretDisabled wording) asks to enable it', () => {
    const error = keyVaultFailure(
      restError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.'),
      'secret',
      location,
    );
    expect(error.remedy).toMatch(/^Enable the current version of "ra"/);
  });

  it('an unknown error is permanent and still names the place', () => {
    const error = keyVaultFailure(new TypeError('boom'), 'certificate', location);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'RA certificate from Key Vault certificate "ra" (version abc) in https://contoso.vault.azure.net: reading the certificate "ra" from Key Vault failed: TypeError (boom).',
    );
  });
});
