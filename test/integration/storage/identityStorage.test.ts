/**
 * Identity-based storage as in Azure with shared keys off: Azurite over HTTPS with `--oauth basic` (it checks
 * the bearer token's issuer, audience and lifetime, and refuses bearer tokens over HTTP), tokens from the
 * managed-identity stand-in. The ledger and the doctor's table check run in this process (the table client
 * takes the dev TLS root in-process); the queue side runs in child processes (e2e, doctor process tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { RunningAzurite } from '../../../dev/host/azurite';
import type { KeyVaultStandIn } from '../../../dev/keyvault-standin/server';
import { ensureDevPki, type DevPki } from '../../../dev/pki/devPki';
import { readSettings } from '../../../shared/config/settings';
import { createRequestLedger, storageErrorOf } from '../../../shared/ledger/tableLedger';
import { createTableClient } from '../../../shared/storage/clients';
import type { StorageConnection } from '../../../shared/storage/connection';
import {
  identityStorageSettings,
  startAzuriteWithOAuth,
  startKeyVaultStandInWithDevTls,
} from '../../support/identityStack';

let dir: string;
let pki: DevPki;
let azurite: RunningAzurite;
let identity: KeyVaultStandIn;
let connection: StorageConnection;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'identity-storage-'));
  pki = await ensureDevPki(path.join(dir, 'pki'));
  azurite = await startAzuriteWithOAuth(pki);
  identity = await startKeyVaultStandInWithDevTls(pki);
  const settings = readSettings(identityStorageSettings(azurite));
  connection = settings.storage!;
}, 60000);

afterAll(async () => {
  await identity?.close();
  await azurite?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the request ledger with identity-based storage', () => {
  it('reads the service URLs from AzureWebJobsStorage__* and keeps a record with a storage token', async () => {
    expect(connection).toEqual({
      kind: 'identity',
      queueServiceUrl: azurite.queueServiceUrl,
      tableServiceUrl: azurite.tableServiceUrl,
      managedIdentityOnly: false,
    });
    const ledger = createRequestLedger(connection, 'identityledger', {
      credential: identity.credential,
      trustedCaPemForTests: pki.tlsRootCa.certPem,
    });
    const begun = await ledger.begin({
      requestId: 'identity-1',
      requestHash: 'a'.repeat(64),
      profileOid: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
      caHost: 'pki-ws.symauth.com',
    });
    expect(begun.created).toBe(true);
    expect((await ledger.get('identity-1'))?.state).toBe('received');
  });

  it('is refused by storage with a token for another audience (so the test above proves the token counts)', async () => {
    const vaultTokenOnly = {
      getToken: () => identity.credential.getToken('https://vault.azure.net/.default'),
    };
    const client = createTableClient(connection, 'identityledger', {
      credential: vaultTokenOnly,
      trustedCaPemForTests: pki.tlsRootCa.certPem,
      maxRetries: 0,
    });
    const error: unknown = await client.createTable().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(storageErrorOf(error)).toEqual({ statusCode: 403, errorCode: 'AuthenticationFailed' });
  });

  it('is refused by storage for a request without credentials (no key, no token)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(
          `${azurite.tableServiceUrl}/Tables`,
          {
            ca: pki.tlsRootCa.certPem,
            headers: { accept: 'application/json;odata=nometadata', 'x-ms-version': '2019-02-02' },
          },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
    expect(status).toBe(403);
  });
});
