/**
 * Composition root: builds the pipeline from settings once per process (the Functions host keeps the
 * process warm, so the RA credential, the CA connections and the policy cache are reused across messages).
 */
import { readSettings, SettingsError, type BrokerSettings } from './config/settings';
import { directKeys, KeyPool, type KeySource } from './crypto';
import { PkiWsClient } from './digicert';
import { createRevocationLedger } from './ledger/revocationLedger';
import { GraphSidOwnershipCheck } from './identity/graphSidCheck';
import { purgeLedger, retentionCutoff, type PurgeReport } from './ledger/retention';
import { createRequestLedger, ledgerTableName } from './ledger/tableLedger';
import { RevocationPipeline } from './revocation/revocationPipeline';
import { CertificatePipeline } from './issuance/pipeline';
import { createRaCredentialSource } from './ra-credential';
import { KeyVaultSigningKeys } from './request-signing/keyVaultSigningKeys';
import { MessageAuthentication } from './request-signing/messageAuthentication';
import { createQueueServiceClient, createTableClient } from './storage/clients';
import type { StorageConnection } from './storage/connection';
import { createTelemetry } from './telemetry/applicationInsights';
import {
  caCallObserver,
  graphCallObserver,
  keyVaultCallObserver,
  observeRaCredential,
} from './telemetry/observers';
import type { Telemetry } from './telemetry/telemetry';

export interface Broker {
  settings: BrokerSettings;
  /** Where the queues and the ledger are (AzureWebJobsStorage, required). */
  storage: StorageConnection;
  /** Puts a request message back on the request queue, invisible for `delaySeconds` (a deferral). */
  deferRequest(messageText: string, delaySeconds: number): Promise<void>;
  /** The same for a revocation message, on the revocation queue. */
  deferRevocation(messageText: string, delaySeconds: number): Promise<void>;
  pipeline: CertificatePipeline;
  revocations: RevocationPipeline;
  /** Deletes ledger entities older than LEDGER_RETENTION_DAYS; undefined when the setting keeps them all (0). */
  purgeLedger(now: Date): Promise<PurgeReport | undefined>;
  telemetry: Telemetry;
  /**
   * Ends what the broker runs in the background: the key pool (KEY_POOL_SIZE) stops generating ahead and drops
   * its keys, which never left memory. The host calls it as it stops; take() still works after it.
   */
  close(): void;
}

export function createBroker(env: Record<string, string | undefined> = process.env): Broker {
  const settings = readSettings(env);
  const telemetry = createTelemetry({
    connectionString: settings.appInsightsConnectionString,
    includePersonalData: settings.telemetryIncludePersonalData,
  });
  const raCredential = observeRaCredential(
    createRaCredentialSource(settings, { onKeyVaultCall: keyVaultCallObserver(telemetry) }),
    telemetry,
  );
  const ca = new PkiWsClient({ settings, credential: raCredential, onCall: caCallObserver(telemetry) });
  if (settings.storage === undefined) {
    throw new SettingsError(
      'AzureWebJobsStorage',
      'is required: the queues and the request ledger live there. Set it to a connection string, or use identity-based access with AzureWebJobsStorage__accountName (or __queueServiceUri and __tableServiceUri)',
    );
  }
  const { storage } = settings;
  const ledger = createRequestLedger(storage, settings.ledgerTable);
  const queueService = createQueueServiceClient(settings.storage);
  const requestQueue = queueService.getQueueClient(settings.requestQueue);
  const revokeQueue = queueService.getQueueClient(settings.revokeQueue);
  const authentication = new MessageAuthentication({
    maxAgeDays: settings.ledgerRetentionDays,
    ...(settings.requestSigningSecretName === undefined
      ? {}
      : {
          keys: new KeyVaultSigningKeys({
            vaultUrl: settings.keyVaultUrl!, // readSettings requires it with REQUEST_SIGNING_SECRET_NAME
            secretName: settings.requestSigningSecretName,
            onCall: keyVaultCallObserver(telemetry),
          }),
        }),
  });
  const keys: KeySource = settings.keyPoolSize > 0 ? new KeyPool({ size: settings.keyPoolSize }) : directKeys;
  return {
    settings,
    storage: settings.storage,
    deferRequest: async (messageText, delaySeconds) => {
      await requestQueue.sendMessage(messageText, { visibilityTimeout: delaySeconds });
    },
    deferRevocation: async (messageText, delaySeconds) => {
      await revokeQueue.sendMessage(messageText, { visibilityTimeout: delaySeconds });
    },
    telemetry,
    purgeLedger: async (now) => {
      if (settings.ledgerRetentionDays === 0) return undefined;
      const table = createTableClient(storage, ledgerTableName(settings.ledgerTable));
      return purgeLedger(table, retentionCutoff(now, settings.ledgerRetentionDays));
    },
    pipeline: new CertificatePipeline({
      settings,
      ca,
      ledger,
      telemetry,
      keys,
      authentication,
      ...(settings.sidVerifyWithGraph
        ? {
            sidOwnership: new GraphSidOwnershipCheck({
              baseUrl: settings.graphBaseUrl,
              onCall: graphCallObserver(telemetry),
            }),
          }
        : {}),
    }),
    revocations: new RevocationPipeline({
      settings,
      ca,
      requests: ledger,
      revocations: createRevocationLedger(settings.storage, settings.ledgerTable),
      telemetry,
      authentication,
    }),
    close: () => keys.close(),
  };
}

let processBroker: Broker | undefined;

/** The broker of this process, built on first use from process.env. */
export function getBroker(): Broker {
  processBroker ??= createBroker();
  return processBroker;
}

/** The broker of this process if something built it already; never builds one. */
export function builtBroker(): Broker | undefined {
  return processBroker;
}
