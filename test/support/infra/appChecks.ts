/** Checks of the storage account, the function app (Flex Consumption) and the app settings the broker reads. */
import { booleanAt, sourceOf, stringAt, valueAt, type BicepFile } from './bicepModel';
import { Infra, isParamReference } from './infra';

/** Settings the broker reads that are not app settings in Azure, and why. */
export const LOCAL_ONLY_SETTINGS: ReadonlyMap<string, string> = new Map([
  ['AzureWebJobsStorage', 'replaced by the identity-based AzureWebJobsStorage__* settings'],
  ['RA_CERTIFICATE_PFX_FILE', 'local runs only: in Azure the RA certificate comes from Key Vault'],
  ['RA_CERTIFICATE_PFX_PASSWORD', 'local runs only: in Azure the RA certificate comes from Key Vault'],
]);

/** App settings the Flex Consumption plan rejects (their job moved to functionAppConfig). */
export const FLEX_REJECTED_SETTINGS: readonly string[] = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'FUNCTIONS_WORKER_RUNTIME_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_CONTENTSHARE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
];

/**
 * Site configuration properties a Flex Consumption site refuses (ARM error 51021, "… for Flex Consumption sites is
 * invalid"; Functions docs, "Flex Consumption plan deprecations"): FTP does not exist there, and runtime and
 * scale moved to functionAppConfig.
 */
export const FLEX_REJECTED_SITE_CONFIG: readonly string[] = [
  'ftpsState',
  'use32BitWorkerProcess',
  'netFrameworkVersion',
  'functionsRuntimeScaleMonitoringEnabled',
  'preWarmedInstanceCount',
  'functionAppScaleLimit',
  'linuxFxVersion',
  'windowsFxVersion',
  'javaVersion',
  'powerShellVersion',
  'alwaysOn',
];

/** Site properties the same deprecation list calls not valid (or renamed) on Flex Consumption. */
export const FLEX_INVALID_SITE_PROPERTIES: readonly string[] = ['reserved', 'isXenon', 'containerSize'];

export function checkStorage(infra: Infra): string[] {
  const problems: string[] = [];
  const storage = infra.only('Microsoft.Storage/storageAccounts', problems);
  if (!storage) return problems;
  const expect = (property: string, expected: string | boolean): void => {
    const actual =
      typeof expected === 'boolean' ? booleanAt(storage.body, property) : stringAt(storage.body, property);
    if (actual !== expected) {
      problems.push(`storage account: ${property} must be ${String(expected)} (found ${String(actual)})`);
    }
  };
  expect('properties.minimumTlsVersion', 'TLS1_2');
  expect('properties.supportsHttpsTrafficOnly', true);
  expect('properties.allowBlobPublicAccess', false);
  expect('properties.allowSharedKeyAccess', false);
  if (infra.resources('Microsoft.Storage/storageAccounts/tableServices/tables').length === 0) {
    problems.push('storage account: the ledger table is not declared');
  }
  if (infra.resources('Microsoft.Storage/storageAccounts/queueServices/queues').length < 3) {
    problems.push('storage account: the request, result and revocation queues are not all declared');
  }
  return problems;
}

export function checkFunctionApp(infra: Infra): string[] {
  const problems: string[] = [];
  const site = infra.only('Microsoft.Web/sites', problems);
  const plan = infra.only('Microsoft.Web/serverfarms', problems);
  if (plan) {
    if (stringAt(plan.body, 'sku.name') !== 'FC1')
      problems.push('plan: sku.name must be FC1 (Flex Consumption)');
    if (stringAt(plan.body, 'sku.tier') !== 'FlexConsumption')
      problems.push('plan: sku.tier must be FlexConsumption');
  }
  if (!site) return problems;
  const file = infra.bicep.get(site.file) as BicepFile;
  const kind = stringAt(site.body, 'kind') ?? '';
  if (!kind.includes('functionapp') || !kind.includes('linux')) {
    problems.push(`function app: kind must be a Linux function app (found "${kind}")`);
  }
  if (stringAt(site.body, 'identity.type') !== 'SystemAssigned') {
    problems.push('function app: identity.type must be SystemAssigned (the managed identity)');
  }
  if (booleanAt(site.body, 'properties.httpsOnly') !== true)
    problems.push('function app: httpsOnly must be true');
  for (const property of ['minTlsVersion', 'scmMinTlsVersion']) {
    const version = stringAt(site.body, `properties.siteConfig.${property}`);
    if (version !== '1.2' && version !== '1.3') {
      problems.push(`function app: siteConfig.${property} must be 1.2 or 1.3 (found ${String(version)})`);
    }
  }
  for (const property of FLEX_REJECTED_SITE_CONFIG) {
    if (valueAt(site.body, `properties.siteConfig.${property}`) !== undefined) {
      problems.push(`function app: siteConfig.${property} is rejected on Flex Consumption (remove it)`);
    }
  }
  for (const property of FLEX_INVALID_SITE_PROPERTIES) {
    if (valueAt(site.body, `properties.${property}`) !== undefined) {
      problems.push(`function app: properties.${property} is not valid on Flex Consumption (remove it)`);
    }
  }
  if (plan && !sourceOf(valueAt(site.body, 'properties.serverFarmId')).includes(`${plan.symbol}.id`)) {
    problems.push('function app: serverFarmId must be the Flex Consumption plan');
  }
  const config = 'properties.functionAppConfig';
  if (stringAt(site.body, `${config}.runtime.name`) !== 'node')
    problems.push('function app: runtime.name must be node');
  if (stringAt(site.body, `${config}.runtime.version`) !== '22')
    problems.push('function app: runtime.version must be 22');
  if (stringAt(site.body, `${config}.deployment.storage.type`) !== 'blobContainer') {
    problems.push('function app: deployment.storage.type must be blobContainer');
  }
  if (stringAt(site.body, `${config}.deployment.storage.authentication.type`) !== 'SystemAssignedIdentity') {
    problems.push('function app: the deployment container must be read with the system-assigned identity');
  }
  const maximum = isParamReference(
    file,
    valueAt(site.body, `${config}.scaleAndConcurrency.maximumInstanceCount`),
  );
  if (!maximum)
    problems.push('function app: scaleAndConcurrency.maximumInstanceCount must come from a parameter');
  if (valueAt(site.body, `${config}.scaleAndConcurrency.instanceMemoryMB`) === undefined) {
    problems.push('function app: scaleAndConcurrency.instanceMemoryMB is missing');
  }
  const mainMaximum = infra.main.params.find((param) => param.name === 'maximumInstanceCount');
  if (!mainMaximum) problems.push('main.bicep: parameter maximumInstanceCount is missing');
  const policies = infra.resources('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
  for (const name of ['ftp', 'scm']) {
    const policy = policies.find((candidate) => stringAt(candidate.body, 'name') === name);
    if (booleanAt(policy?.body, 'properties.allow') !== false) {
      problems.push(`function app: basic publishing credentials (${name}) must be disabled`);
    }
    // Not in the type, but the resource provider has refused these policies without one (bicep-types-az #1317).
    if (policy && valueAt(policy.body, 'location') === undefined) {
      problems.push(`function app: basic publishing credentials policy (${name}) needs a location`);
    }
  }
  return problems;
}

/** Setting names the broker reads, from shared/config/settings.ts. */
export function settingsReadByBroker(settingsSource: string): string[] {
  const names = new Set<string>();
  for (const match of settingsSource.matchAll(/\b(?:text|integer|flag)\(env, '([A-Za-z0-9_]+)'/g))
    names.add(match[1]);
  for (const match of settingsSource.matchAll(/\benv\.([A-Za-z][A-Za-z0-9_]*)/g)) names.add(match[1]);
  return [...names].sort();
}

export function checkAppSettings(infra: Infra): string[] {
  const problems: string[] = [];
  const site = infra.only('Microsoft.Web/sites', problems);
  if (!site) return problems;
  const settings = infra.siteAppSettings(site);
  if (settings.size === 0) problems.push('function app: no app settings found');
  const required = settingsReadByBroker(infra.sources.settingsSource).filter(
    (name) => !LOCAL_ONLY_SETTINGS.has(name),
  );
  if (required.length < 10)
    problems.push(`settings.ts: only ${required.length} settings recognised; the reader is out of date`);
  for (const name of required) {
    if (!settings.has(name)) problems.push(`app settings: ${name} (read by the broker) is missing`);
  }
  for (const name of ['accountName', 'blobServiceUri', 'queueServiceUri', 'tableServiceUri']) {
    if (!settings.has(`AzureWebJobsStorage__${name}`)) {
      problems.push(`app settings: AzureWebJobsStorage__${name} (identity-based host storage) is missing`);
    }
  }
  const credential = settings.get('AzureWebJobsStorage__credential');
  if (credential && sourceOf(credential.value).toLowerCase() !== "'managedidentity'") {
    problems.push('app settings: AzureWebJobsStorage__credential must be managedidentity');
  }
  if (settings.has('AzureWebJobsStorage')) {
    problems.push(
      'app settings: AzureWebJobsStorage must not be a connection string (use the identity-based settings)',
    );
  }
  for (const name of FLEX_REJECTED_SETTINGS) {
    if (settings.has(name)) problems.push(`app settings: ${name} is not allowed on Flex Consumption`);
  }
  const vaultUrl = settings.get('KEY_VAULT_URL');
  const vaultOrigin = vaultUrl && infra.origin(vaultUrl.file, vaultUrl.value);
  if (vaultUrl && !/\.properties\.vaultUri$/.test(sourceOf(vaultOrigin?.value))) {
    problems.push('app settings: KEY_VAULT_URL must be the vault URI from the template');
  }
  const appInsights = settings.get('APPLICATIONINSIGHTS_CONNECTION_STRING');
  const appInsightsOrigin = appInsights && infra.origin(appInsights.file, appInsights.value);
  if (!appInsights) problems.push('app settings: APPLICATIONINSIGHTS_CONNECTION_STRING is missing');
  else if (!/\.properties\.ConnectionString$/.test(sourceOf(appInsightsOrigin?.value))) {
    problems.push(
      'app settings: APPLICATIONINSIGHTS_CONNECTION_STRING must be read from the Application Insights resource',
    );
  }
  // The broker reports GAVE_UP on the delivery host.json calls the last: the two numbers must agree.
  const hostMax = (
    JSON.parse(infra.sources.hostJson) as { extensions?: { queues?: { maxDequeueCount?: number } } }
  ).extensions?.queues?.maxDequeueCount;
  const dequeueParam = infra.main.params.find((param) => param.name === 'queueMaxDequeueCount');
  const dequeueDefault =
    dequeueParam?.defaultValue?.kind === 'number' ? dequeueParam.defaultValue.value : undefined;
  if (hostMax === undefined || dequeueDefault !== hostMax) {
    problems.push(
      `main.bicep: queueMaxDequeueCount default (${String(dequeueDefault)}) must equal host.json maxDequeueCount (${String(hostMax)})`,
    );
  }
  return problems;
}
