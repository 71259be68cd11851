import { CredentialUnavailableError } from '@azure/identity';
import { settingsCheck } from '../../../shared/doctor/checks/settingsCheck';
import { storageRemedy } from '../../../shared/doctor/checks/storageChecks';
import type { StorageConnection } from '../../../shared/storage/connection';

const identity: StorageConnection = {
  kind: 'identity',
  queueServiceUrl: 'https://stpkcsbroker01.queue.core.windows.net',
  tableServiceUrl: 'https://stpkcsbroker01.table.core.windows.net',
  managedIdentityOnly: false,
};
const keyed: StorageConnection = {
  kind: 'connectionString',
  connectionString: 'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0',
};

/** The shape of the SDK's RestError: statusCode and the service's error code. */
function storageError(statusCode: number, errorCode: string): Error {
  return Object.assign(new Error(`${errorCode}: refused`), {
    name: 'RestError',
    statusCode,
    code: errorCode,
  });
}

describe('storageRemedy: what to do, told by the kind of storage failure', () => {
  it('names the data role for a token without the right (403), per service', () => {
    const error = storageError(403, 'AuthorizationPermissionMismatch');
    expect(storageRemedy(identity, 'queues', error)).toMatch(
      /^The identity has a token but no right to the queues \(AuthorizationPermissionMismatch\): assign it the role "Storage Queue Data Contributor"/,
    );
    expect(storageRemedy(identity, 'tables', error)).toContain('"Storage Table Data Contributor"');
  });

  it('says where a token comes from when there is none', () => {
    const error = new CredentialUnavailableError('no managed identity endpoint');
    expect(storageRemedy(identity, 'queues', error)).toMatch(/sign in with `az login`/);
    expect(storageRemedy({ ...identity, managedIdentityOnly: true }, 'queues', error)).toMatch(
      /leave AzureWebJobsStorage__credential unset/,
    );
  });

  it('points at the key, or at identity-based access, when a connection string is refused', () => {
    expect(storageRemedy(keyed, 'tables', storageError(403, 'AuthenticationFailed'))).toMatch(
      /refused the connection string's key .*AzureWebJobsStorage__accountName/,
    );
  });

  it('falls back to checking the setting and the role for anything else', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:10001'), {
      code: 'ECONNREFUSED',
    });
    expect(storageRemedy(keyed, 'queues', refused)).toMatch(/^Check AzureWebJobsStorage .*start Azurite/);
  });
});

describe('the settings check on storage', () => {
  const run = (env: Record<string, string>) =>
    settingsCheck.run({
      env,
      options: { env },
      now: () => new Date(),
      caClient: () => {
        throw new Error('the settings check calls no CA');
      },
    });
  const base = { RA_CERTIFICATE_PFX_FILE: '/nonexistent/ra.pfx', CA_ALLOWED_HOSTS: 'pki-ws.symauth.com' };

  it('says which storage form wins when both are set (a connection string left in local.settings.json)', async () => {
    const outcome = await run({
      ...base,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      AzureWebJobsStorage__accountName: 'stpkcsbroker01',
    });
    expect(outcome.notes).toContainEqual(
      expect.stringMatching(
        /^AzureWebJobsStorage \(a connection string, perhaps from local.settings.json\) wins: AzureWebJobsStorage__accountName is ignored/,
      ),
    );
  });

  it('describes identity-based storage without that note', async () => {
    const outcome = await run({ ...base, AzureWebJobsStorage__accountName: 'stpkcsbroker01' });
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toContain(
      'storage https://stpkcsbroker01.queue.core.windows.net (queues) and https://stpkcsbroker01.table.core.windows.net (tables) as DefaultAzureCredential',
    );
    expect(outcome.notes?.join('\n')).not.toMatch(/wins:/);
  });
});
