/**
 * The request-signing keys with the real @azure/keyvault-secrets client and managed-identity tokens against
 * the Key Vault stand-in: current and named versions, rotation and retirement, caching, and every failure an
 * operator or a sender can cause, each as REQUEST_NOT_ALLOWED that says what to do (transient ones retryable).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import {
  createStandInTls,
  startKeyVaultStandIn,
  type KeyVaultStandIn,
} from '../../../dev/keyvault-standin/server';
import { signMessage } from '../../../shared/guardrails/requestSignature';
import {
  KeyVaultSigningKeys,
  type KeyVaultSigningKeysOptions,
} from '../../../shared/request-signing/keyVaultSigningKeys';
import type { KeyVaultCallReport } from '../../../shared/ra-credential/keyVaultSource';
import { MessageAuthentication } from '../../../shared/request-signing/messageAuthentication';
import { failureOf } from '../../support/brokerErrors';
import { useManagedIdentityOf } from '../../support/identityStack';

let tls: ReturnType<typeof createStandInTls>;
let vault: KeyVaultStandIn;
let restoreEnvironment: () => void;
let counter = 0;

beforeAll(async () => {
  tls = createStandInTls();
  vault = await startKeyVaultStandIn({ tls: { certPem: tls.certPem, keyPem: tls.keyPem } });
  restoreEnvironment = useManagedIdentityOf(vault);
});

afterAll(async () => {
  restoreEnvironment?.();
  await vault?.close();
});

function keysFor(secretName: string, options: Partial<KeyVaultSigningKeysOptions> = {}): KeyVaultSigningKeys {
  return new KeyVaultSigningKeys({
    vaultUrl: vault.url,
    secretName,
    credential: vault.credential,
    trustedCaPemForTests: tls.rootCertPem,
    maxRetries: 0,
    ...options,
  });
}

/** A new secret holding a fresh 32-byte key; its name and its first version. */
function newSecret(): { name: string; version: string; key: Buffer } {
  counter += 1;
  const name = `request-signing-${counter}`;
  const key = randomBytes(32);
  return { name, key, ...vault.putSecret(name, key.toString('base64')) };
}

const secretReads = (name: string) =>
  vault.requests.filter(
    (request) => request.kind === 'secrets' && request.name === name && request.status === 200,
  );

describe('request-signing keys from Key Vault', () => {
  it('reads the current version and a named one, with the version as keyId', async () => {
    const secret = newSecret();
    const keys = keysFor(secret.name);
    expect(await keys.key(undefined)).toEqual({ keyId: secret.version, key: secret.key });
    expect(await keys.key(secret.version.toUpperCase())).toEqual({ keyId: secret.version, key: secret.key });
  });

  it('rotation: a new version becomes current, the previous one still verifies until it is disabled', async () => {
    const first = newSecret();
    const secondKey = randomBytes(48);
    const second = vault.putSecret(first.name, secondKey.toString('base64'));
    let clock = 0;
    const keys = keysFor(first.name, { now: () => clock, cacheMs: 1000 });
    const authentication = new MessageAuthentication({ keys, maxAgeDays: 90 });
    const message = { schemaVersion: 1, revocationId: 'r-1', serialNumber: '01' };
    expect((await keys.key(undefined)).keyId).toBe(second.version);
    const signedWithFirst = signMessage(message, { keyId: first.version, key: first.key }, new Date());
    await expect(
      authentication.assertAuthentic(signedWithFirst, 'revocation', 'r-1'),
    ).resolves.toBeUndefined();

    vault.setSecretVersionEnabled(first.name, first.version, false);
    // Kept for cacheMs: a retired key stops working that soon, without a Key Vault read per message.
    await expect(
      authentication.assertAuthentic(signedWithFirst, 'revocation', 'r-1'),
    ).resolves.toBeUndefined();
    clock += 1000;
    const retired = await failureOf(authentication.assertAuthentic(signedWithFirst, 'revocation', 'r-1'));
    expect(retired.code).toBe('REQUEST_NOT_ALLOWED');
    expect(retired.retryable).toBe(false);
    expect(retired.message).toBe(
      `revocation "r-1": signature.keyId ${first.version} names a disabled version of Key Vault secret "${first.name}": that key was retired.`,
    );
    const signedWithSecond = signMessage(message, { keyId: second.version, key: secondKey }, new Date());
    await expect(
      authentication.assertAuthentic(signedWithSecond, 'revocation', 'r-1'),
    ).resolves.toBeUndefined();
  });

  it('reads each version once per cache period, however many messages name it, and reports each read', async () => {
    const secret = newSecret();
    const calls: KeyVaultCallReport[] = [];
    const keys = keysFor(secret.name, { onCall: (call) => calls.push(call) });
    await Promise.all(Array.from({ length: 20 }, () => keys.key(secret.version)));
    await keys.key(secret.version);
    expect(secretReads(secret.name)).toHaveLength(1);
    await failureOf(keys.key('0'.repeat(32)));
    expect(calls).toEqual([
      expect.objectContaining({
        operation: 'getSecret',
        vaultHost: new URL(vault.url).host,
        success: true,
        code: '200',
      }),
      expect.objectContaining({ operation: 'getSecret', success: false, code: '404' }),
    ]);
  });

  it('an unknown keyId is the sender’s mistake; a missing secret the operator’s', async () => {
    const secret = newSecret();
    const unknown = await failureOf(keysFor(secret.name).key('f'.repeat(32)));
    expect(unknown.code).toBe('REQUEST_NOT_ALLOWED');
    expect(unknown.message).toBe(
      `signature.keyId ${'f'.repeat(32)} is not a version of Key Vault secret "${secret.name}".`,
    );
    const missing = await failureOf(keysFor('no-such-secret').key(undefined));
    expect(missing.message).toMatch(
      /the vault has no secret "no-such-secret" \(REQUEST_SIGNING_SECRET_NAME\)/,
    );
    expect(missing.remedy).toContain('az keyvault secret set');
    expect(missing.retryable).toBe(false);
  });

  it('a key shorter than 32 bytes or not base64 is refused, and never quoted', async () => {
    counter += 1;
    const short = `short-${counter}`;
    vault.putSecret(short, randomBytes(16).toString('base64'));
    const error = await failureOf(keysFor(short).key(undefined));
    expect(error.message).toMatch(/is not the base64 of a key of at least 32 bytes/);
    const text = `not base64 ${randomBytes(8).toString('hex')}`;
    vault.putSecret(short, text);
    const notBase64 = await failureOf(keysFor(short).key(undefined));
    expect(`${notBase64.message} ${notBase64.remedy}`).not.toContain(text);
  });

  it('Key Vault denying the read names the role to grant', async () => {
    const secret = newSecret();
    vault.setForbidden(secret.name, ['secrets']);
    const denied = await failureOf(keysFor(secret.name).key(undefined));
    expect(denied.code).toBe('REQUEST_NOT_ALLOWED');
    expect(denied.retryable).toBe(false);
    expect(denied.remedy).toMatch(/Key Vault Secrets User/);
    vault.setForbidden(secret.name, []);
  });

  it('Key Vault out of reach is retryable (the message waits), and is read again next time', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const keys = keysFor('anything', { vaultUrl: `https://127.0.0.1:${closed}` });
    const down = await failureOf(keys.key(undefined));
    expect(down.code).toBe('REQUEST_NOT_ALLOWED');
    expect(down.retryable).toBe(true);
    expect(down.message).toMatch(/^the signature cannot be checked now: Key Vault did not answer/);
    // A failure is not kept: the next call tries again (and fails again here, with the same words).
    expect((await failureOf(keys.key(undefined))).message).toBe(down.message);
  });

  it('no key material or token ever appears in what is reported', async () => {
    const secret = newSecret();
    const error = await failureOf(keysFor(secret.name).key('0'.repeat(32)));
    const reported = `${error.message} ${error.remedy} ${String(error.cause)}`;
    expect(reported).not.toContain(secret.key.toString('base64'));
    expect(reported).not.toMatch(/Bearer|authorization/i);
  });
});
