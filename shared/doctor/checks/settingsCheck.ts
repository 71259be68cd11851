/** The settings: readable (readSettings), and everything the broker needs is there. */
import { readSettings, SettingsError } from '../../config/settings';
import { parseCaHost } from '../../contract/caHosts';
import { describeStorageConnection } from '../../storage/connection';
import { withRow } from '../outcomes';
import { describeRaOrigin, RA_NOT_CONFIGURED_REMEDY, raOriginOf } from '../raSource';
import type { TroubleshootingRowRef } from '../troubleshooting';
import type { CheckOutcome, DoctorCheck, DoctorContext } from '../types';

export const SETTINGS_CHECK_ID = 'settings';

/** The app settings the functions' queue bindings name (`%PKCS_REQUEST_QUEUE%` …). */
export const QUEUE_BINDING_SETTINGS = [
  'PKCS_REQUEST_QUEUE',
  'PKCS_RESULT_QUEUE',
  'PKCS_REVOKE_QUEUE',
  'PKCS_REVOKE_RESULT_QUEUE',
] as const;

interface Problem {
  text: string;
  remedy: string;
  row?: TroubleshootingRowRef;
}

function settingRow(setting: string): TroubleshootingRowRef | undefined {
  if (setting.startsWith('RA_')) return { id: 'client-certificate' };
  if (setting === 'CA_ALLOWED_HOSTS') return { id: 'secure-channel', case: 2 };
  if (setting === 'PROFILE_OIDS') return { id: 'request-element-not-understood' };
  return undefined;
}

async function run(context: DoctorContext): Promise<CheckOutcome> {
  let settings;
  try {
    settings = readSettings(context.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return withRow(
      {
        status: 'fail',
        detail: error.message,
        remedy: `Correct ${error.setting} in the Function App's application settings (locally: local.settings.json Values or the environment).`,
      },
      settingRow(error.setting),
    );
  }

  const problems: Problem[] = [];
  const notes: string[] = [];
  const origin = raOriginOf(settings);
  if (origin.kind === 'unconfigured') {
    problems.push({
      text: `the RA certificate is ${describeRaOrigin(origin)}`,
      remedy: RA_NOT_CONFIGURED_REMEDY,
      row: { id: 'client-certificate' },
    });
  } else if (origin.kind === 'file' && settings.keyVaultUrl !== undefined) {
    notes.push(
      'KEY_VAULT_URL is set, but RA_CERTIFICATE_PFX_FILE wins: the RA certificate is read from the file',
    );
  }
  const ignoredStorageSettings = Object.keys(context.env).filter(
    (name) => name.toLowerCase().startsWith('azurewebjobsstorage__') && context.env[name]?.trim(),
  );
  if (settings.storage?.kind === 'connectionString' && ignoredStorageSettings.length > 0) {
    notes.push(
      `AzureWebJobsStorage (a connection string, perhaps from local.settings.json) wins: ${ignoredStorageSettings.join(', ')} ${ignoredStorageSettings.length > 1 ? 'are' : 'is'} ignored. Remove it to check the identity-based storage`,
    );
  }
  if (settings.raCertThumbprints.length === 0) {
    notes.push('RA_CERT_THUMBPRINT is not set: any valid RA certificate in that place is used (no pin)');
  }
  if (settings.caAllowedHosts.length === 0) {
    problems.push({
      text: 'CA_ALLOWED_HOSTS is empty: the broker may call no CA',
      remedy: 'Set CA_ALLOWED_HOSTS to the DigiCert PKI-WS FQDN of your account, e.g. pki-ws.symauth.com.',
      row: { id: 'secure-channel', case: 2 },
    });
  }
  for (const host of settings.caAllowedHosts) {
    if (parseCaHost(host) === undefined) {
      problems.push({
        text: `CA_ALLOWED_HOSTS entry "${host}" is not a host name or host:port`,
        remedy:
          'Write each CA_ALLOWED_HOSTS entry as the bare FQDN (pki-ws.symauth.com), or host:port: no scheme, no path, no trailing slash.',
        row: { id: 'secure-channel', case: 2 },
      });
    }
  }
  if (settings.storage === undefined) {
    problems.push({
      text: 'AzureWebJobsStorage is not set: the queues and the request ledger live in that storage account',
      remedy:
        'Set AzureWebJobsStorage__accountName to the storage account holding the queues and the ledger table (identity-based, as the infra template does; on your own machine your az login is used), or AzureWebJobsStorage to its connection string (locally: the Azurite connection string).',
    });
  }
  if (settings.profileOids.length === 0) {
    notes.push('PROFILE_OIDS is not set: the profile policies are not checked');
  }
  // In Azure the functions name their queues through %SETTING% binding expressions: a missing app setting
  // stops every function that binds it from loading (the broker's own defaults do not reach the host).
  if (context.env.WEBSITE_SITE_NAME?.trim()) {
    const missing = QUEUE_BINDING_SETTINGS.filter((name) => !context.env[name]?.trim());
    if (missing.length > 0) {
      problems.push({
        text: `${missing.length === 1 ? 'the app setting' : 'the app settings'} ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: the functions that bind those queues do not load (issuePkcsCertificate binds PKCS_REVOKE_QUEUE too)`,
        remedy:
          'Deploy infra/main.bicep (it sets every queue setting), or add the missing app settings with their queue names (defaults pkcs-requests, pkcs-results, pkcs-revocations, pkcs-revocation-results), then restart the app.',
      });
    }
  }

  const hosts = settings.caAllowedHosts.join(', ') || '(none)';
  const detail = [
    `RA certificate from ${describeRaOrigin(origin)}${settings.raCertThumbprints.length === 0 ? '' : `, pinned to ${settings.raCertThumbprints.join(', ')}`}`,
    `CA hosts ${hosts}`,
    `${settings.profileOids.length} profile OID(s)`,
    `queues ${settings.requestQueue} → ${settings.resultQueue}`,
    `ledger table ${settings.ledgerTable}`,
    ...(settings.storage === undefined ? [] : [`storage ${describeStorageConnection(settings.storage)}`]),
  ].join('; ');
  const data = {
    raCertificate: describeRaOrigin(origin),
    caAllowedHosts: settings.caAllowedHosts,
    profileOids: settings.profileOids,
    requestQueue: settings.requestQueue,
    resultQueue: settings.resultQueue,
    ledgerTable: settings.ledgerTable,
  };

  if (problems.length > 0) {
    const first = problems.find((problem) => problem.row !== undefined) ?? problems[0]!;
    return withRow(
      {
        status: 'fail',
        detail: problems.map((problem) => problem.text).join('; '),
        notes,
        remedy: problems.map((problem) => problem.remedy).join(' '),
        data,
      },
      first.row,
    );
  }
  context.settings = settings;
  return { status: 'pass', detail, notes, data };
}

export const settingsCheck: DoctorCheck = {
  id: SETTINGS_CHECK_ID,
  title: 'Settings',
  run,
};
