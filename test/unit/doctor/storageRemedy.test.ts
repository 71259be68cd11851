import { CredentialUnavailableError } from '@azure/identity';
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
