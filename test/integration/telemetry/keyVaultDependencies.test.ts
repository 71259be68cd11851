/**
 * Key Vault reads as dependencies: the real Key Vault clients against the stand-in report each read through
 * the source's onCall, and the real Application Insights SDK delivers them to the ingestion stand-in,
 * correlated with the request being handled — and without the key material the reads returned.
 */
import {
  createStandInTls,
  startKeyVaultStandIn,
  type KeyVaultStandIn,
} from '../../../dev/keyvault-standin/server';
import { KeyVaultRaCredentialSource } from '../../../shared/ra-credential';
import { createTelemetry } from '../../../shared/telemetry/applicationInsights';
import { operationIdOf, withRequestCorrelation } from '../../../shared/telemetry/correlation';
import { keyVaultCallObserver } from '../../../shared/telemetry/observers';
import { buildPfx, createRaFixtures, type RaFixtures } from '../ra-credential/raFixtures';
import { startIngestionStandIn, type IngestionStandIn } from '../../support/ingestion';

const REQUEST_ID = '0b7e4a52-9f0e-4c1e-8d8e-5a1f3c2b9d41';
let fixtures: RaFixtures;
let tls: ReturnType<typeof createStandInTls>;
let vault: KeyVaultStandIn;
let ingestion: IngestionStandIn;

beforeAll(async () => {
  process.env.APPLICATIONINSIGHTS_STATSBEAT_DISABLED = 'true';
  process.env.APPLICATION_INSIGHTS_NO_STATSBEAT = 'true';
  fixtures = createRaFixtures();
  tls = createStandInTls();
  [vault, ingestion] = await Promise.all([
    startKeyVaultStandIn({ tls: { certPem: tls.certPem, keyPem: tls.keyPem } }),
    startIngestionStandIn(),
  ]);
});

afterAll(async () => {
  await Promise.all([vault?.close(), ingestion?.close()]);
});

it('reports getCertificate and getSecret (and a 404) as dependencies of the request, with no key material', async () => {
  vault.putCertificate('ra-telemetry', {
    pfx: buildPfx(fixtures.ra, { password: 'import-pw', chain: [fixtures.raCa] }),
    password: 'import-pw',
  });
  const telemetry = createTelemetry({
    connectionString: ingestion.connectionString,
    includePersonalData: false,
    offlineStorage: false,
    trustedCaPemForTests: ingestion.caPem,
  });
  const source = (certificateName: string) =>
    new KeyVaultRaCredentialSource({
      vaultUrl: vault.url,
      certificateName,
      credential: vault.credential,
      trustedCaPemForTests: tls.rootCertPem,
      maxRetries: 0,
      onCall: keyVaultCallObserver(telemetry),
    });
  const loaded = await withRequestCorrelation(REQUEST_ID, () => source('ra-telemetry').load());
  await expect(withRequestCorrelation(REQUEST_ID, () => source('ra-missing').load())).rejects.toThrow(
    /ra-missing/,
  );
  await telemetry.flush();

  const vaultHost = new URL(vault.url).host;
  const dependencies = ingestion.envelopes
    .filter((envelope) => envelope.data?.baseType === 'RemoteDependencyData')
    .map((envelope) => ({
      name: envelope.data?.baseData?.name,
      target: envelope.data?.baseData?.target,
      success: envelope.data?.baseData?.success,
      resultCode: envelope.data?.baseData?.resultCode,
      operationId: envelope.tags?.['ai.operation.id'],
      properties: envelope.data?.baseData?.properties,
    }));
  const common = {
    target: vaultHost,
    operationId: operationIdOf(REQUEST_ID),
    properties: { requestId: REQUEST_ID, system: 'Azure Key Vault' },
  };
  expect(dependencies).toEqual([
    { ...common, name: 'KeyVault getCertificate', success: true, resultCode: '200' },
    { ...common, name: 'KeyVault getSecret', success: true, resultCode: '200' },
    { ...common, name: 'KeyVault getCertificate', success: false, resultCode: '404' },
  ]);
  const everything = ingestion.bodies.join('\n');
  expect(everything).not.toContain('PRIVATE KEY');
  expect(everything).not.toContain(loaded.privateKeyPem.split('\n')[2]!);
  expect(everything).not.toContain('import-pw');
});
