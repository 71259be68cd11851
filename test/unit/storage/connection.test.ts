import { SettingsError } from '../../../shared/config/settingsError';
import { readSettings } from '../../../shared/config/settings';
import { describeStorageConnection, readStorageConnection } from '../../../shared/storage/connection';

const AZURITE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;';

function settingError(env: Record<string, string>): SettingsError {
  try {
    readStorageConnection(env);
  } catch (error) {
    if (error instanceof SettingsError) return error;
    throw error;
  }
  throw new Error('no SettingsError');
}

describe('readStorageConnection (AzureWebJobsStorage as the Functions host reads it)', () => {
  it('is undefined when neither form is set', () => {
    expect(readStorageConnection({})).toBeUndefined();
    expect(readStorageConnection({ AzureWebJobsStorage: '  ' })).toBeUndefined();
  });

  it('takes a connection string, which wins over identity settings', () => {
    expect(
      readStorageConnection({ AzureWebJobsStorage: AZURITE, AzureWebJobsStorage__accountName: 'other' }),
    ).toEqual({ kind: 'connectionString', connectionString: AZURITE });
  });

  it('derives the queue and table endpoints from the account name (what the infra template sets)', () => {
    expect(
      readStorageConnection({
        AzureWebJobsStorage__accountName: 'stpkcsbroker01',
        AzureWebJobsStorage__credential: 'managedidentity',
      }),
    ).toEqual({
      kind: 'identity',
      queueServiceUrl: 'https://stpkcsbroker01.queue.core.windows.net',
      tableServiceUrl: 'https://stpkcsbroker01.table.core.windows.net',
      managedIdentityOnly: true,
    });
  });

  it('prefers explicit service URIs (sovereign clouds, private endpoints) and keeps a path (Azurite)', () => {
    expect(
      readStorageConnection({
        AzureWebJobsStorage__accountName: 'stpkcsbroker01',
        AzureWebJobsStorage__queueServiceUri: 'https://stpkcsbroker01.queue.core.chinacloudapi.cn/',
        AzureWebJobsStorage__tableServiceUri: 'https://127.0.0.1:10002/devstoreaccount1/',
        AzureWebJobsStorage__clientId: '7A1C3E5F-0B2D-4F6A-8C9E-1D3F5A7B9C0E',
      }),
    ).toEqual({
      kind: 'identity',
      queueServiceUrl: 'https://stpkcsbroker01.queue.core.chinacloudapi.cn',
      tableServiceUrl: 'https://127.0.0.1:10002/devstoreaccount1',
      managedIdentityOnly: false,
      clientId: '7a1c3e5f-0b2d-4f6a-8c9e-1d3f5a7b9c0e',
    });
  });

  it('accepts the setting names in any case, as App Service environment variables do', () => {
    expect(readStorageConnection({ AZUREWEBJOBSSTORAGE__ACCOUNTNAME: 'stpkcsbroker01' })).toMatchObject({
      kind: 'identity',
      queueServiceUrl: 'https://stpkcsbroker01.queue.core.windows.net',
    });
  });

  it.each([
    [
      { AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net' },
      'AzureWebJobsStorage__tableServiceUri',
      /request ledger is a table/,
    ],
    [
      { AzureWebJobsStorage__tableServiceUri: 'https://a.table.core.windows.net' },
      'AzureWebJobsStorage__queueServiceUri',
      /queues' endpoint/,
    ],
    [
      { AzureWebJobsStorage__accountName: 'St-PKCS' },
      'AzureWebJobsStorage__accountName',
      /3-24 lower-case letters and digits/,
    ],
    [
      {
        AzureWebJobsStorage__queueServiceUri: 'http://a.queue.core.windows.net',
        AzureWebJobsStorage__tableServiceUri: 'https://a.table.core.windows.net',
      },
      'AzureWebJobsStorage__queueServiceUri',
      /https URL: identity-based access sends a bearer token/,
    ],
    [
      { AzureWebJobsStorage__accountName: 'a1b2c3', AzureWebJobsStorage__tableServiceUri: 'not a url' },
      'AzureWebJobsStorage__tableServiceUri',
      /is not a URL/,
    ],
    [
      {
        AzureWebJobsStorage__accountName: 'a1b2c3',
        AzureWebJobsStorage__queueServiceUri: 'a.queue.core.windows.net/?sv=2024&sig=abc',
      },
      'AzureWebJobsStorage__queueServiceUri',
      /"a\.queue\.core\.windows\.net\/" is not a URL/,
    ],
    [
      {
        AzureWebJobsStorage__accountName: 'a1b2c3',
        AzureWebJobsStorage__queueServiceUri: 'https://a.queue.core.windows.net/?sv=2024&sig=abc',
      },
      'AzureWebJobsStorage__queueServiceUri',
      /without a query \(no SAS token\)/,
    ],
    [
      { AzureWebJobsStorage__accountName: 'a1b2c3', AzureWebJobsStorage__credential: 'clientsecret' },
      'AzureWebJobsStorage__credential',
      /use "managedidentity" in Azure, or leave it unset/,
    ],
    [
      { AzureWebJobsStorage__accountName: 'a1b2c3', AzureWebJobsStorage__clientId: 'my-identity' },
      'AzureWebJobsStorage__clientId',
      /GUID of a user-assigned managed identity/,
    ],
    [
      { AzureWebJobsStorage__credential: 'managedidentity' },
      'AzureWebJobsStorage__accountName',
      /AzureWebJobsStorage__credential is/,
    ],
  ])('names the setting and the fix for %j', (env, setting, message) => {
    const error = settingError(env);
    expect(error.setting).toBe(setting);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('sig=');
  });

  it('never repeats a key or SAS when describing where the storage is', () => {
    expect(describeStorageConnection({ kind: 'connectionString', connectionString: AZURITE })).toBe(
      'http://127.0.0.1:10001/devstoreaccount1',
    );
    expect(
      describeStorageConnection({
        kind: 'connectionString',
        connectionString: 'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=c2VjcmV0',
      }),
    ).toBe('account prod');
    expect(
      describeStorageConnection(
        readStorageConnection({ AzureWebJobsStorage__accountName: 'stpkcsbroker01' })!,
      ),
    ).toBe(
      'https://stpkcsbroker01.queue.core.windows.net (queues) and https://stpkcsbroker01.table.core.windows.net (tables) as DefaultAzureCredential',
    );
  });

  it('is what readSettings puts in settings.storage', () => {
    expect(readSettings({ AzureWebJobsStorage__accountName: 'stpkcsbroker01' }).storage).toMatchObject({
      kind: 'identity',
    });
    expect(() => readSettings({ AzureWebJobsStorage__accountName: 'X' })).toThrow(
      /^AzureWebJobsStorage__accountName: "X" is not a storage account name/,
    );
  });
});
