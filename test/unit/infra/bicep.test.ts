/**
 * The Bicep templates in infra/ read with a small parser (the Bicep CLI cannot be installed here) and checked
 * for the security properties and the settings the broker needs. Every check is also run on a broken copy of
 * the templates, so removing a property from a template is noticed.
 */
import { REPO_ROOT } from '../../support/teamShared';
import {
  checkKeyVault,
  checkNoSecrets,
  checkParametersFile,
  checkRoleAssignments,
  EXPECTED_ROLE_SCOPES,
  ROLE,
} from '../../support/infra/accessChecks';
import {
  checkAppSettings,
  checkFunctionApp,
  checkStorage,
  LOCAL_ONLY_SETTINGS,
  settingsReadByBroker,
} from '../../support/infra/appChecks';
import { valueAt } from '../../support/infra/bicepModel';
import { ALL_CHECKS, allProblems } from '../../support/infra/checks';
import { Infra, loadInfraSources, type InfraSources } from '../../support/infra/infra';
import { checkMonitoring, checkTelemetryQueries } from '../../support/infra/monitoringChecks';
import { checkOutputsAndModules } from '../../support/infra/outputChecks';

const sources = loadInfraSources(REPO_ROOT);
const infra = new Infra(sources);

describe('infra templates', () => {
  it('parse, main.bicep and every module', () => {
    expect([...infra.bicep.keys()].sort()).toEqual([
      'main.bicep',
      'modules/functionapp.bicep',
      'modules/keyvault.bicep',
      'modules/monitoring.bicep',
      'modules/roleAssignments.bicep',
      'modules/storage.bicep',
    ]);
  });

  it.each(ALL_CHECKS.map(([name, check]) => [name, check] as const))('pass the %s checks', (_name, check) => {
    expect(check(infra)).toEqual([]);
  });

  it('give the app exactly the four data-plane roles it needs, each on its own resource', () => {
    const assigned = infra
      .resources('Microsoft.Authorization/roleAssignments')
      .map((assignment) =>
        infra.roleGuid(assignment.file, valueAt(assignment.body, 'properties.roleDefinitionId')),
      )
      .sort();
    expect(assigned).toEqual(
      [
        ROLE.storageBlobDataOwner,
        ROLE.storageQueueDataContributor,
        ROLE.storageTableDataContributor,
        ROLE.keyVaultCertificateUser,
      ].sort(),
    );
    expect([...EXPECTED_ROLE_SCOPES.keys()]).not.toContain(ROLE.keyVaultSecretsUser);
  });

  it('configure every setting the broker reads in Azure', () => {
    const read = settingsReadByBroker(sources.settingsSource);
    // The reader of settings.ts must keep up with it: these are settings it certainly reads.
    expect(read).toEqual(
      expect.arrayContaining(['CA_ALLOWED_HOSTS', 'KEY_VAULT_URL', 'RA_CERTIFICATE_NAME', 'LEDGER_TABLE']),
    );
    const site = infra.resources('Microsoft.Web/sites')[0];
    const configured = [...infra.siteAppSettings(site).keys()];
    expect(configured).toEqual(expect.arrayContaining(read.filter((name) => !LOCAL_ONLY_SETTINGS.has(name))));
    expect(configured).not.toContain('AzureWebJobsStorage');
  });
});

/** A copy of the sources with one edit; the edit must apply, so a stale mutation cannot pass silently. */
function mutate(file: string, from: string | RegExp, to: string): InfraSources {
  const text = sources.files[file];
  if (text === undefined) throw new Error(`no infra file ${file}`);
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`mutation of ${file} did not apply: ${String(from)}`);
  return { ...sources, files: { ...sources.files, [file]: changed } };
}

/** A copy of the sources with one edit in a broker telemetry file (the queries must follow the broker). */
function mutateTelemetry(file: string, from: string, to: string): InfraSources {
  const text = sources.telemetrySources[file];
  if (text === undefined) throw new Error(`no telemetry source ${file}`);
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`mutation of ${file} did not apply: ${from}`);
  return { ...sources, telemetrySources: { ...sources.telemetrySources, [file]: changed } };
}

const deleteLine = (pattern: string): RegExp =>
  new RegExp(`^.*${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*\\r?\\n`, 'm');

type Check = (infra: Infra) => string[];

const mutations: Array<[string, InfraSources, Check, RegExp]> = [
  [
    'storage allows shared keys',
    mutate('modules/storage.bicep', 'allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'),
    checkStorage,
    /allowSharedKeyAccess/,
  ],
  [
    'storage loses allowSharedKeyAccess',
    mutate('modules/storage.bicep', deleteLine('allowSharedKeyAccess'), ''),
    checkStorage,
    /allowSharedKeyAccess/,
  ],
  [
    'storage TLS 1.0',
    mutate('modules/storage.bicep', "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'"),
    checkStorage,
    /minimumTlsVersion/,
  ],
  [
    'storage loses HTTPS only',
    mutate('modules/storage.bicep', deleteLine('supportsHttpsTrafficOnly'), ''),
    checkStorage,
    /supportsHttpsTrafficOnly/,
  ],
  [
    'storage loses the public-blob ban',
    mutate('modules/storage.bicep', deleteLine('allowBlobPublicAccess'), ''),
    checkStorage,
    /allowBlobPublicAccess/,
  ],
  [
    'storage loses the ledger table',
    mutate('modules/storage.bicep', /resource ledgerTable[\s\S]*?\n}\n/, ''),
    checkStorage,
    /ledger table/,
  ],
  [
    'app loses httpsOnly',
    mutate('modules/functionapp.bicep', deleteLine('httpsOnly: true'), ''),
    checkFunctionApp,
    /httpsOnly/,
  ],
  [
    'app TLS 1.0',
    mutate('modules/functionapp.bicep', "      minTlsVersion: '1.2'", "      minTlsVersion: '1.0'"),
    checkFunctionApp,
    /minTlsVersion/,
  ],
  [
    'ftpsState set on Flex Consumption (ARM error 51021)',
    mutate(
      'modules/functionapp.bicep',
      "      minTlsVersion: '1.2'\n",
      "      minTlsVersion: '1.2'\n      ftpsState: 'Disabled'\n",
    ),
    checkFunctionApp,
    /siteConfig\.ftpsState is rejected on Flex Consumption/,
  ],
  [
    'linuxFxVersion set on Flex Consumption',
    mutate(
      'modules/functionapp.bicep',
      "      minTlsVersion: '1.2'\n",
      "      minTlsVersion: '1.2'\n      linuxFxVersion: 'Node|22'\n",
    ),
    checkFunctionApp,
    /siteConfig\.linuxFxVersion is rejected/,
  ],
  [
    'site reserved set on Flex Consumption',
    mutate('modules/functionapp.bicep', '    httpsOnly: true\n', '    httpsOnly: true\n    reserved: true\n'),
    checkFunctionApp,
    /properties\.reserved is not valid on Flex Consumption/,
  ],
  [
    'a basic publishing credentials policy without location',
    mutate('modules/functionapp.bicep', /(name: 'ftp'\n)\s+location: location\n/, '$1'),
    checkFunctionApp,
    /policy \(ftp\) needs a location/,
  ],
  [
    'app loses its managed identity',
    mutate('modules/functionapp.bicep', "type: 'SystemAssigned'\n", "type: 'None'\n"),
    checkFunctionApp,
    /identity/,
  ],
  [
    'plan is not Flex Consumption',
    mutate('modules/functionapp.bicep', "name: 'FC1'", "name: 'Y1'"),
    checkFunctionApp,
    /FC1/,
  ],
  [
    'runtime Node 20',
    mutate('modules/functionapp.bicep', "version: '22'", "version: '20'"),
    checkFunctionApp,
    /runtime\.version/,
  ],
  [
    'deployment storage by key',
    mutate(
      'modules/functionapp.bicep',
      "type: 'SystemAssignedIdentity'",
      "type: 'StorageAccountConnectionString'",
    ),
    checkFunctionApp,
    /deployment container/,
  ],
  [
    'fixed instance count',
    mutate(
      'modules/functionapp.bicep',
      'maximumInstanceCount: maximumInstanceCount',
      'maximumInstanceCount: 100',
    ),
    checkFunctionApp,
    /maximumInstanceCount/,
  ],
  [
    'SCM basic auth allowed',
    mutate(
      'modules/functionapp.bicep',
      /(name: 'scm'\n(?:\s+location: location\n)?\s+properties: \{\n\s+allow: )false/,
      '$1true',
    ),
    checkFunctionApp,
    /\(scm\)/,
  ],
  [
    'a broker setting dropped',
    mutate('main.bicep', deleteLine('CA_ALLOWED_HOSTS: caAllowedHosts'), ''),
    checkAppSettings,
    /CA_ALLOWED_HOSTS/,
  ],
  [
    'identity-based queue URI dropped',
    mutate('modules/functionapp.bicep', deleteLine('AzureWebJobsStorage__queueServiceUri'), ''),
    checkAppSettings,
    /queueServiceUri/,
  ],
  [
    'FUNCTIONS_WORKER_RUNTIME set on Flex',
    mutate(
      'main.bicep',
      'LEDGER_TABLE: ledgerTableName',
      "LEDGER_TABLE: ledgerTableName\n  FUNCTIONS_WORKER_RUNTIME: 'node'",
    ),
    checkAppSettings,
    /FUNCTIONS_WORKER_RUNTIME/,
  ],
  [
    'App Insights connection string as a literal',
    mutate(
      'modules/functionapp.bicep',
      'APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString',
      "APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000'",
    ),
    checkAppSettings,
    /APPLICATIONINSIGHTS_CONNECTION_STRING/,
  ],
  [
    'dequeue count out of step with host.json',
    mutate('main.bicep', 'param queueMaxDequeueCount int = 5', 'param queueMaxDequeueCount int = 7'),
    checkAppSettings,
    /maxDequeueCount/,
  ],
  [
    'vault without RBAC',
    mutate('modules/keyvault.bicep', 'enableRbacAuthorization: true', 'enableRbacAuthorization: false'),
    checkKeyVault,
    /enableRbacAuthorization/,
  ],
  [
    'vault loses purge protection',
    mutate('modules/keyvault.bicep', deleteLine('enablePurgeProtection'), ''),
    checkKeyVault,
    /enablePurgeProtection/,
  ],
  [
    'vault loses soft delete',
    mutate('modules/keyvault.bicep', deleteLine('enableSoftDelete'), ''),
    checkKeyVault,
    /enableSoftDelete/,
  ],
  [
    'vault network access hard-coded',
    mutate(
      'modules/keyvault.bicep',
      'publicNetworkAccess: publicNetworkAccess',
      "publicNetworkAccess: 'Enabled'",
    ),
    checkKeyVault,
    /publicNetworkAccess/,
  ],
  [
    'Contributor instead of a data role',
    mutate(
      'modules/roleAssignments.bicep',
      "storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'",
      `storageTableDataContributor: '${ROLE.contributor}'`,
    ),
    checkRoleAssignments,
    /management role/,
  ],
  [
    'Owner role',
    mutate(
      'modules/roleAssignments.bicep',
      "keyVaultCertificateUser: 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba'",
      `keyVaultCertificateUser: '${ROLE.owner}'`,
    ),
    checkRoleAssignments,
    /management role/,
  ],
  [
    'a role assigned to a user',
    mutate('modules/roleAssignments.bicep', "principalType: 'ServicePrincipal'", "principalType: 'User'"),
    checkRoleAssignments,
    /principalType/,
  ],
  [
    'vault role scoped to storage',
    mutate('modules/roleAssignments.bicep', /scope: vault/, 'scope: storage'),
    checkRoleAssignments,
    /expected Microsoft\.KeyVault\/vaults/,
  ],
  [
    'role assignment at resource-group scope',
    mutate('modules/roleAssignments.bicep', /^ {2}scope: storage\n/m, ''),
    checkRoleAssignments,
    /scoped to a resource/,
  ],
  [
    'a role assignment removed',
    mutate('modules/roleAssignments.bicep', /resource queueDataContributor[\s\S]*?\n}\n/, ''),
    checkRoleAssignments,
    /974c5e8b-45b9-4653-ba55-5f855dd0fb88 must be assigned exactly once/,
  ],
  [
    'role given to another principal',
    mutate(
      'main.bicep',
      'principalId: functionApp.outputs.principalId',
      "principalId: '11111111-1111-1111-1111-111111111111'",
    ),
    checkRoleAssignments,
    /managed identity/,
  ],
  [
    'listKeys in a template',
    mutate(
      'modules/functionapp.bicep',
      "AzureWebJobsStorage__credential: 'managedidentity'",
      "AzureWebJobsStorage__credential: 'managedidentity'\n  AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=${storage.listKeys().keys[0].value}'",
    ),
    checkNoSecrets,
    /listKeys|AccountKey/,
  ],
  [
    'a secure parameter with a default',
    mutate(
      'main.bicep',
      "param raCertThumbprint string = ''",
      "param raCertThumbprint string = ''\n@secure()\nparam raPassword string = 'changeit'",
    ),
    checkNoSecrets,
    /secure parameter raPassword/,
  ],
  [
    'a Key Vault secret read at deployment',
    mutate('main.bicep', 'PFX_ENCRYPTION: pfxEncryption', "PFX_ENCRYPTION: vault.getSecret('ra')"),
    checkNoSecrets,
    /secret read at deployment/,
  ],
  [
    'a parameter unknown to main.bicep',
    mutate(
      'main.parameters.json',
      '"namePrefix": { "value": "pkcsbroker" },',
      '"namePrefix": { "value": "pkcsbroker" },\n    "nameSuffix": { "value": "x" },',
    ),
    checkParametersFile,
    /nameSuffix is not a parameter/,
  ],
  [
    'the required e-mail missing from the parameters file',
    mutate('main.parameters.json', /\s*"alertEmailAddress": \{ "value": "[^"]*" \},/, ''),
    checkParametersFile,
    /alertEmailAddress has no value/,
  ],
  [
    'a parameter value of the wrong type',
    mutate('main.parameters.json', '"caMaxAttempts": { "value": 3 }', '"caMaxAttempts": { "value": "3" }'),
    checkParametersFile,
    /caMaxAttempts is string/,
  ],
  [
    'a parameter value not allowed',
    mutate(
      'main.parameters.json',
      '"instanceMemoryMB": { "value": 2048 }',
      '"instanceMemoryMB": { "value": 1024 }',
    ),
    checkParametersFile,
    /instanceMemoryMB/,
  ],
  [
    'the failure-rate alert gone',
    mutate(
      'modules/monitoring.bicep',
      'tostring(customDimensions.outcome)',
      'tostring(customDimensions.result)',
    ),
    checkMonitoring,
    /failure rate/,
  ],
  [
    'the poison alert gone',
    mutate('modules/monitoring.bicep', '== "GAVE_UP"', '== "GIVE_UP"'),
    checkMonitoring,
    /gave up/,
  ],
  [
    'the RA expiry alert gone',
    mutate(
      'modules/monitoring.bicep',
      '| where name == "pkcs.raCertificateDaysToExpiry"',
      '| where name == "pkcs.other"',
    ),
    checkMonitoring,
    /RA certificate expiry/,
  ],
  [
    'an alert measuring a column its query lacks',
    mutate('modules/monitoring.bicep', "metricMeasureColumn: 'gaveUp'", "metricMeasureColumn: 'gaveup'"),
    checkMonitoring,
    /metricMeasureColumn gaveup/,
  ],
  [
    'an alert without the action group',
    mutate(
      'modules/monitoring.bicep',
      /(resource gaveUpAlert[\s\S]*?actionGroups: \[\n\s+)actionGroup\.id/,
      "$1'none'",
    ),
    checkMonitoring,
    /gaveUpAlert: must notify/,
  ],
  [
    'Application Insights not workspace-based',
    mutate('modules/monitoring.bicep', deleteLine('WorkspaceResourceId: workspace.id'), ''),
    checkMonitoring,
    /workspace-based/,
  ],
  [
    'the alert e-mail hard-coded',
    mutate(
      'modules/monitoring.bicep',
      'emailAddress: alertEmailAddress',
      "emailAddress: 'someone@example.com'",
    ),
    checkMonitoring,
    /e-mail receiver/,
  ],
  [
    'a workbook without the CA latency panel',
    mutate('workbooks/pkcs-broker.workbook.json', 'pkcs.caLatencyMs', 'pkcs.other'),
    checkMonitoring,
    /CA latency/,
  ],
  [
    'a workbook without the queue wait panel',
    mutate('workbooks/pkcs-broker.workbook.json', 'pkcs.queueWaitMs', 'pkcs.other'),
    checkMonitoring,
    /no panel for queue wait[\s\S]*no panel shows the metric pkcs\.queueWaitMs/,
  ],
  [
    'a workbook without CA calls by operation',
    mutate(
      'workbooks/pkcs-broker.workbook.json',
      'by operation = name, caHost = target',
      'by caHost = target',
    ),
    checkMonitoring,
    /no panel for CA calls by operation/,
  ],
  [
    'a workbook without the Key Vault reads',
    mutate('workbooks/pkcs-broker.workbook.json', 'Azure Key Vault', 'Key Vault'),
    checkMonitoring,
    /no panel for Key Vault reads[\s\S]*no panel shows the Azure Key Vault dependencies/,
  ],
  [
    'a workbook panel using {TimeRange} without the time range parameter',
    mutate('workbooks/pkcs-broker.workbook.json', '"timeContextFromParameter": "TimeRange",', ''),
    checkMonitoring,
    /panel issuance: uses \{TimeRange\}/,
  ],
  [
    'a workbook reading a metric the broker does not send',
    mutate('workbooks/pkcs-broker.workbook.json', '"pkcs.queueWaitMs', '"pkcs.queueWait'),
    checkTelemetryQueries,
    /panel queueWait: reads the metric pkcs\.queueWait,/,
  ],
  [
    'an alert reading a dimension the broker does not send',
    mutate(
      'modules/monitoring.bicep',
      'customDimensions.errorCode) == "GAVE_UP"',
      'customDimensions.error_code) == "GAVE_UP"',
    ),
    checkTelemetryQueries,
    /alert gaveUpAlert: reads customDimensions\.error_code/,
  ],
  [
    'an alert comparing with an outcome the broker never sends',
    mutate('modules/monitoring.bicep', 'outcome in ("issued", "failed")', 'outcome in ("issued", "failure")'),
    checkTelemetryQueries,
    /alert failureRateAlert: compares with "failure"/,
  ],
  [
    'a workbook filtering on a dependency system the broker does not send',
    mutate('workbooks/pkcs-broker.workbook.json', '"PKI-WS', '"PKI WS'),
    checkTelemetryQueries,
    /compares with "PKI WS"/,
  ],
  [
    'a query on a table the broker does not write to',
    mutate('modules/monitoring.bicep', "var gaveUpQuery = '''\ntraces", "var gaveUpQuery = '''\nrequests"),
    checkTelemetryQueries,
    /alert gaveUpAlert: reads the table "requests"/,
  ],
  [
    'a workbook reading a trace dimension from the metrics',
    mutate(
      'workbooks/pkcs-broker.workbook.json',
      'customDimensions.firstDelivery',
      'customDimensions.dequeueCount',
    ),
    checkTelemetryQueries,
    /panel queueWait: reads customDimensions\.dequeueCount, which the broker does not send in customMetrics/,
  ],
  [
    'the broker renames a metric the workbook reads',
    mutateTelemetry('shared/telemetry/telemetry.ts', "| 'pkcs.queueWaitMs'", "| 'pkcs.queueWaitSeconds'"),
    checkTelemetryQueries,
    /panel queueWait: reads the metric pkcs\.queueWaitMs, which the broker does not send/,
  ],
  [
    'the broker sends a metric no panel shows',
    mutateTelemetry(
      'shared/telemetry/telemetry.ts',
      "| 'pkcs.queueWaitMs'",
      "| 'pkcs.queueWaitMs'\n  | 'pkcs.unshown'",
    ),
    checkMonitoring,
    /no panel shows the metric pkcs\.unshown/,
  ],
  [
    'the broker drops the queue dimension the poison-queue alert reads',
    mutateTelemetry(
      'shared/telemetry/queueLength.ts',
      'messages, { queue, queueName }',
      'messages, { queueName }',
    ),
    checkTelemetryQueries,
    /alert poisonQueueAlert: reads customDimensions\.queue, which the broker does not send in customMetrics/,
  ],
  [
    'the broker renames the queue the poison-queue alert watches',
    mutateTelemetry('shared/telemetry/telemetry.ts', "| 'poisonUnhandled'", "| 'deadLetter'"),
    checkTelemetryQueries,
    /alert poisonQueueAlert: compares with "poisonUnhandled", a value the broker never sends/,
  ],
  [
    'the broker renames a trace dimension an alert reads',
    mutateTelemetry(
      'shared/telemetry/applicationInsights.ts',
      'properties.errorCode = event.errorCode',
      'properties.code = event.errorCode',
    ),
    checkTelemetryQueries,
    /alert gaveUpAlert: reads customDimensions\.errorCode, which the broker does not send in traces/,
  ],
  [
    'app settings looped over a value read during deployment',
    mutate(
      'modules/functionapp.bicep',
      'APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString',
      'APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString',
    ),
    checkOutputsAndModules,
    /for-expression iterates a value known only during deployment/,
  ],
  [
    'KEY_VAULT_URL typed in',
    mutate(
      'main.bicep',
      'KEY_VAULT_URL: keyVault.outputs.keyVaultUri',
      "KEY_VAULT_URL: 'https://vault.example'",
    ),
    checkAppSettings,
    /KEY_VAULT_URL must be the vault URI/,
  ],
  [
    'an output removed',
    mutate('main.bicep', deleteLine('output keyVaultUri'), ''),
    checkOutputsAndModules,
    /keyVaultUri/,
  ],
  [
    'a module parameter not passed',
    mutate('main.bicep', deleteLine('instanceMemoryMB: instanceMemoryMB'), ''),
    checkOutputsAndModules,
    /instanceMemoryMB/,
  ],
];

describe('infra checks notice a broken template', () => {
  it.each(mutations)('%s', (_name, broken, check, expected) => {
    const problems = check(new Infra(broken));
    expect(problems.join('\n')).toMatch(expected);
  });

  it('and the real templates have no problem at all', () => {
    expect(allProblems(sources)).toEqual([]);
  });
});
