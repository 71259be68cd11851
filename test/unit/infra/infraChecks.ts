/**
 * Security and completeness checks on the Bicep templates in infra/. Each check returns the problems it
 * finds (empty: all good), so the tests can run them on the real templates and on deliberately broken copies
 * (a removed property must be noticed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  booleanAt,
  keysOf,
  parseBicep,
  sourceOf,
  stringAt,
  valueAt,
  type BicepFile,
  type BicepParam,
  type BicepResource,
  type BicepValue,
} from './bicepReader';

/** Built-in role definition ids, as listed in Microsoft's built-in roles reference. */
export const ROLE = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultCertificateUser: 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  storageAccountContributor: '17d1049b-9a84-46fb-8f53-869881c3d3ab',
  storageAccountKeyOperator: '81a9662b-bebf-436f-a333-f67b29880f12',
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  keyVaultContributor: 'f25e0fa2-a7c8-4377-a976-54943a77a395',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  keyVaultCertificatesOfficer: 'a4417e6f-fecd-4de8-b567-7b0420556985',
} as const;

/** The roles the app's identity gets, each once, and the type of resource it must be scoped to. */
export const EXPECTED_ROLE_SCOPES: ReadonlyMap<string, string> = new Map([
  [ROLE.storageBlobDataOwner, 'Microsoft.Storage/storageAccounts'],
  [ROLE.storageQueueDataContributor, 'Microsoft.Storage/storageAccounts'],
  [ROLE.storageTableDataContributor, 'Microsoft.Storage/storageAccounts'],
  [ROLE.keyVaultCertificateUser, 'Microsoft.KeyVault/vaults'],
]);

/** Roles that manage resources or access, or hand out keys: never for the app. */
export const FORBIDDEN_ROLES: readonly string[] = [
  ROLE.owner,
  ROLE.contributor,
  ROLE.userAccessAdministrator,
  ROLE.storageAccountContributor,
  ROLE.storageAccountKeyOperator,
  ROLE.keyVaultAdministrator,
  ROLE.keyVaultContributor,
  ROLE.keyVaultSecretsOfficer,
  ROLE.keyVaultCertificatesOfficer,
];

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

export const REQUIRED_OUTPUTS: readonly string[] = [
  'functionAppName',
  'keyVaultUri',
  'functionAppPrincipalId',
  'storageAccountName',
  'applicationInsightsName',
];

/** Everything the checks read: template texts by path relative to infra/, plus two files of the app. */
export interface InfraSources {
  /** `main.bicep`, `modules/x.bicep`, `main.parameters.json`, `workbooks/x.json` … */
  files: Record<string, string>;
  /** shared/config/settings.ts: the settings the broker reads. */
  settingsSource: string;
  /** host.json: maxDequeueCount must match QUEUE_MAX_DEQUEUE_COUNT. */
  hostJson: string;
  /** What the broker sends to Application Insights, by path: the alerts and the workbook may read only that. */
  telemetrySources: Record<string, string>;
}

/** The broker files that define its telemetry: names, dimensions and the values they take. */
export const TELEMETRY_SOURCE_FILES: readonly string[] = [
  'shared/telemetry/telemetry.ts',
  'shared/telemetry/queueLength.ts',
  'shared/pipeline.ts',
  'shared/contract/errors.ts',
];

export function loadInfraSources(repoRoot: string): InfraSources {
  const infraDir = path.join(repoRoot, 'infra');
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(bicep|json|bicepparam)$/.test(name)) {
        files[path.relative(infraDir, full).split(path.sep).join('/')] = readFileSync(full, 'utf8');
      }
    }
  };
  walk(infraDir);
  return {
    files,
    settingsSource: readFileSync(path.join(repoRoot, 'shared', 'config', 'settings.ts'), 'utf8'),
    hostJson: readFileSync(path.join(repoRoot, 'host.json'), 'utf8'),
    telemetrySources: Object.fromEntries(
      TELEMETRY_SOURCE_FILES.map((file) => [file, readFileSync(path.join(repoRoot, file), 'utf8')]),
    ),
  };
}

interface LocatedResource extends BicepResource {
  file: string;
}

/** The parsed templates, with the look-ups the checks share. */
export class Infra {
  readonly bicep = new Map<string, BicepFile>();

  constructor(readonly sources: InfraSources) {
    for (const [file, text] of Object.entries(sources.files)) {
      if (file.endsWith('.bicep')) this.bicep.set(file, parseBicep(text));
    }
  }

  get main(): BicepFile {
    const main = this.bicep.get('main.bicep');
    if (!main) throw new Error('infra/main.bicep is missing');
    return main;
  }

  resources(type: string, options: { includeExisting?: boolean } = {}): LocatedResource[] {
    const found: LocatedResource[] = [];
    for (const [file, parsed] of this.bicep) {
      for (const resource of parsed.resources) {
        if (resource.type.toLowerCase() !== type.toLowerCase()) continue;
        if (resource.existing && !options.includeExisting) continue;
        found.push({ ...resource, file });
      }
    }
    return found;
  }

  /** The single declared (not `existing`) resource of a type; a problem if there is none or several. */
  only(type: string, problems: string[]): LocatedResource | undefined {
    const found = this.resources(type);
    if (found.length !== 1) {
      problems.push(`expected exactly one ${type} resource, found ${found.length}`);
      return undefined;
    }
    return found[0];
  }

  /** A module's file name for a `module … '<path>'` declared in `fromFile`. */
  moduleTarget(fromFile: string, modulePath: string): string {
    return path.posix.normalize(path.posix.join(path.posix.dirname(fromFile), modulePath));
  }

  /** Where a parameter of `file` gets its value: the argument of every module call of that file. */
  argumentsFor(file: string, param: string): Array<{ file: string; value: BicepValue }> {
    const found: Array<{ file: string; value: BicepValue }> = [];
    for (const [caller, parsed] of this.bicep) {
      for (const module of parsed.modules) {
        if (this.moduleTarget(caller, module.path) !== file) continue;
        const value = valueAt(module.body, `params.${param}`);
        if (value) found.push({ file: caller, value });
      }
    }
    return found;
  }

  /**
   * The entries of an object-valued expression, following vars, union(…) and module parameters across files:
   * how the Function App's app settings are put together.
   */
  objectEntries(
    file: string,
    value: BicepValue | undefined,
    depth = 0,
  ): Map<string, { file: string; value: BicepValue }> {
    const entries = new Map<string, { file: string; value: BicepValue }>();
    if (value === undefined || depth > 10) return entries;
    if (value.kind === 'object') {
      for (const entry of value.entries) entries.set(entry.key, { file, value: entry.value });
      return entries;
    }
    if (value.kind !== 'expression') return entries;
    const raw = value.raw.trim();
    const union = /^union\(([\s\S]*)\)$/.exec(raw);
    if (union) {
      for (const argument of splitArguments(union[1])) {
        const nested = this.objectEntries(file, { kind: 'expression', raw: argument }, depth + 1);
        for (const [key, found] of nested) entries.set(key, found);
      }
      return entries;
    }
    if (/^[A-Za-z_]\w*$/.test(raw)) {
      const parsed = this.bicep.get(file);
      const variable = parsed?.vars.find((candidate) => candidate.name === raw);
      if (variable) return this.objectEntries(file, variable.value, depth + 1);
      if (parsed?.params.some((param) => param.name === raw)) {
        for (const argument of this.argumentsFor(file, raw)) {
          for (const [key, found] of this.objectEntries(argument.file, argument.value, depth + 1)) {
            entries.set(key, found);
          }
        }
      }
    }
    return entries;
  }

  /** A string var or literal, following one level of var reference (for alert queries). */
  stringValue(file: string, value: BicepValue | undefined): string | undefined {
    if (value?.kind === 'string') return value.value;
    if (value?.kind === 'expression' && /^[A-Za-z_]\w*$/.test(value.raw)) {
      const variable = this.bicep.get(file)?.vars.find((candidate) => candidate.name === value.raw);
      return variable?.value.kind === 'string' ? variable.value.value : undefined;
    }
    return undefined;
  }

  /** The role definition id a roleDefinitionId expression names, resolving `roles.x` style var references. */
  roleGuid(file: string, value: BicepValue | undefined): string | undefined {
    const text = sourceOf(value);
    const literal = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.exec(text);
    if (literal) return literal[0].toLowerCase();
    const parsed = this.bicep.get(file);
    for (const match of text.matchAll(/\b([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?\b/g)) {
      const variable = parsed?.vars.find((candidate) => candidate.name === match[1]);
      if (!variable) continue;
      const resolved = match[2] === undefined ? variable.value : valueAt(variable.value, match[2]);
      const guid = resolved?.kind === 'string' ? resolved.value : undefined;
      if (guid !== undefined && /^[0-9a-f-]{36}$/i.test(guid)) return guid.toLowerCase();
    }
    return undefined;
  }

  /** The resource a symbol names in a file (`scope: storage`). */
  /**
   * Where a value finally comes from: a parameter is followed to the argument its module call passes, a
   * `module.outputs.x` to that module's output, a var to its value (each step in the file it belongs to).
   */
  origin(
    file: string,
    value: BicepValue | undefined,
    depth = 0,
  ): { file: string; value: BicepValue } | undefined {
    if (value === undefined || depth > 10) return undefined;
    if (value.kind !== 'expression') return { file, value };
    const raw = value.raw.trim();
    const parsed = this.bicep.get(file);
    const output = /^([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)$/.exec(raw);
    if (output) {
      const module = parsed?.modules.find((candidate) => candidate.symbol === output[1]);
      if (!module) return { file, value };
      const target = this.moduleTarget(file, module.path);
      const declared = this.bicep.get(target)?.outputs.find((candidate) => candidate.name === output[2]);
      return declared ? this.origin(target, declared.value, depth + 1) : { file, value };
    }
    if (/^[A-Za-z_]\w*$/.test(raw)) {
      const variable = parsed?.vars.find((candidate) => candidate.name === raw);
      if (variable) return this.origin(file, variable.value, depth + 1);
      if (parsed?.params.some((param) => param.name === raw)) {
        const [argument, ...others] = this.argumentsFor(file, raw);
        if (argument && others.length === 0) return this.origin(argument.file, argument.value, depth + 1);
      }
    }
    return { file, value };
  }

  /** Expression text with the file's vars written out, so what a for-expression really iterates is visible. */
  expandVars(file: string, text: string, depth = 0): string {
    const parsed = this.bicep.get(file);
    if (!parsed || depth > 10) return text;
    return text.replace(/\b[A-Za-z_]\w*\b/g, (name) => {
      const variable = parsed.vars.find((candidate) => candidate.name === name);
      return variable ? `(${this.expandVars(file, sourceOf(variable.value), depth + 1)})` : name;
    });
  }

  symbol(file: string, symbol: string): BicepResource | undefined {
    return this.bicep.get(file)?.resources.find((resource) => resource.symbol === symbol);
  }

  siteAppSettings(site: LocatedResource): Map<string, { file: string; value: BicepValue }> {
    const settings = valueAt(site.body, 'properties.siteConfig.appSettings');
    const entries = new Map<string, { file: string; value: BicepValue }>();
    if (settings?.kind === 'array') {
      for (const item of settings.items) {
        const name = stringAt(item, 'name');
        const value = valueAt(item, 'value');
        if (name !== undefined && value !== undefined) entries.set(name, { file: site.file, value });
      }
      return entries;
    }
    if (settings?.kind === 'for') {
      const source = /\bin\s+items\((.+)\)\s*$/.exec(settings.header);
      if (source) return this.objectEntries(site.file, { kind: 'expression', raw: source[1].trim() });
    }
    return entries;
  }
}

/** Top-level comma-separated arguments of a call's argument text. */
function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let current = '';
  for (const char of text) {
    if (char === "'") inString = !inString;
    if (!inString && '([{'.includes(char)) depth++;
    if (!inString && ')]}'.includes(char)) depth--;
    if (!inString && depth === 0 && char === ',') {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

function isParamReference(file: BicepFile, value: BicepValue | undefined): BicepParam | undefined {
  if (value?.kind !== 'expression') return undefined;
  return file.params.find((param) => param.name === value.raw.trim());
}

function decorator(param: BicepParam, name: string): string | undefined {
  return param.decorators.find((candidate) => candidate.name === name)?.args;
}

// ---------------------------------------------------------------------------------------------------------

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

export function checkKeyVault(infra: Infra): string[] {
  const problems: string[] = [];
  const vault = infra.only('Microsoft.KeyVault/vaults', problems);
  if (!vault) return problems;
  for (const property of ['enableRbacAuthorization', 'enableSoftDelete', 'enablePurgeProtection']) {
    if (booleanAt(vault.body, `properties.${property}`) !== true)
      problems.push(`key vault: ${property} must be true`);
  }
  if (valueAt(vault.body, 'properties.accessPolicies') !== undefined) {
    problems.push('key vault: access policies are not used (RBAC only)');
  }
  const file = infra.bicep.get(vault.file) as BicepFile;
  const access = isParamReference(file, valueAt(vault.body, 'properties.publicNetworkAccess'));
  const allowed = access ? (decorator(access, 'allowed') ?? '') : '';
  if (!access || !allowed.includes("'Enabled'") || !allowed.includes("'Disabled'")) {
    problems.push('key vault: publicNetworkAccess must be a parameter allowing Enabled and Disabled');
  }
  return problems;
}

export function checkRoleAssignments(infra: Infra): string[] {
  const problems: string[] = [];
  const assignments = infra.resources('Microsoft.Authorization/roleAssignments');
  const seen = new Map<string, number>();
  for (const assignment of assignments) {
    const label = `role assignment ${assignment.symbol} (${assignment.file})`;
    const guid = infra.roleGuid(assignment.file, valueAt(assignment.body, 'properties.roleDefinitionId'));
    if (guid === undefined) {
      problems.push(`${label}: roleDefinitionId does not name a built-in role id`);
      continue;
    }
    seen.set(guid, (seen.get(guid) ?? 0) + 1);
    if (FORBIDDEN_ROLES.includes(guid))
      problems.push(`${label}: ${guid} is a management role, not least privilege`);
    const expectedScope = EXPECTED_ROLE_SCOPES.get(guid);
    if (expectedScope === undefined) problems.push(`${label}: role ${guid} is not one the app needs`);
    if (stringAt(assignment.body, 'properties.principalType') !== 'ServicePrincipal') {
      problems.push(`${label}: principalType must be ServicePrincipal`);
    }
    const scope = valueAt(assignment.body, 'scope');
    const scoped = scope?.kind === 'expression' ? infra.symbol(assignment.file, scope.raw.trim()) : undefined;
    if (!scoped)
      problems.push(`${label}: must be scoped to a resource (not the resource group or subscription)`);
    else if (expectedScope !== undefined && scoped.type !== expectedScope) {
      problems.push(`${label}: scoped to ${scoped.type}, expected ${expectedScope}`);
    }
    const principal = sourceOf(valueAt(assignment.body, 'properties.principalId'));
    const file = infra.bicep.get(assignment.file) as BicepFile;
    const principalParam = file.params.find((param) => param.name === principal);
    const fromApp = principalParam
      ? infra
          .argumentsFor(assignment.file, principal)
          .every((argument) => /\.outputs\.principalId$/.test(sourceOf(argument.value)))
      : /\.identity\.principalId$/.test(principal);
    if (!fromApp) problems.push(`${label}: principalId must be the Function App's managed identity`);
  }
  for (const [guid] of EXPECTED_ROLE_SCOPES) {
    const count = seen.get(guid) ?? 0;
    if (count !== 1)
      problems.push(`role assignments: ${guid} must be assigned exactly once (found ${count})`);
  }
  const principalOutput = infra.bicep
    .get('modules/functionapp.bicep')
    ?.outputs.find((output) => output.name === 'principalId');
  if (!principalOutput || !/\.identity\.principalId$/.test(sourceOf(principalOutput.value))) {
    problems.push('functionapp.bicep: output principalId must be the managed identity principal');
  }
  const allText = Object.values(infra.sources.files).join('\n').toLowerCase();
  for (const forbidden of FORBIDDEN_ROLES) {
    if (allText.includes(forbidden)) problems.push(`templates mention the management role ${forbidden}`);
  }
  return problems;
}

export function checkNoSecrets(infra: Infra): string[] {
  const problems: string[] = [];
  const patterns: Array<[RegExp, string]> = [
    [/\blistKeys\s*\(/i, 'listKeys()'],
    [/\blist(Account|Service)Sas\s*\(/i, 'a SAS token'],
    [/\blist(Secrets|Credentials?|PublishingCredentials|ConnectionStrings)\s*\(/i, 'a list*() secret call'],
    [/AccountKey\s*=/i, 'AccountKey='],
    [/SharedAccessKey\s*=/i, 'SharedAccessKey='],
    [/SharedAccessSignature\s*=/i, 'SharedAccessSignature='],
    [/\.getSecret\s*\(/, 'a Key Vault secret read at deployment'],
    [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  ];
  for (const [file, text] of Object.entries(infra.sources.files)) {
    for (const [pattern, what] of patterns) {
      if (pattern.test(text)) problems.push(`${file}: contains ${what}`);
    }
  }
  for (const [file, parsed] of infra.bicep) {
    for (const param of parsed.params) {
      const secure = param.decorators.some((candidate) => candidate.name === 'secure');
      if (secure && param.defaultValue !== undefined)
        problems.push(`${file}: secure parameter ${param.name} has a default value`);
      if (/secure(String|Object)/i.test(param.type) && param.defaultValue !== undefined) {
        problems.push(`${file}: secure parameter ${param.name} has a default value`);
      }
    }
  }
  const parameters = parametersFile(infra);
  for (const [name, entry] of Object.entries(parameters?.parameters ?? {})) {
    const param = infra.main.params.find((candidate) => candidate.name === name);
    if (param?.decorators.some((candidate) => candidate.name === 'secure')) {
      problems.push(`main.parameters.json: secure parameter ${name} has a value in the file`);
    }
    if (entry.reference !== undefined)
      problems.push(`main.parameters.json: ${name} reads a Key Vault secret`);
  }
  const site = infra.resources('Microsoft.Web/sites')[0];
  if (site) {
    for (const [name, setting] of infra.siteAppSettings(site)) {
      if (/connection|key|password|secret/i.test(name) && name !== 'APPLICATIONINSIGHTS_CONNECTION_STRING') {
        if (setting.value.kind === 'string' && setting.value.value !== '') {
          problems.push(`app settings: ${name} holds a literal value`);
        }
      }
      if (/InstrumentationKey=|AccountKey=/i.test(sourceOf(setting.value))) {
        problems.push(`app settings: ${name} holds a literal connection string`);
      }
    }
  }
  return problems;
}

interface ParametersFile {
  parameters?: Record<string, { value?: unknown; reference?: unknown }>;
}

function parametersFile(infra: Infra): ParametersFile | undefined {
  const text = infra.sources.files['main.parameters.json'];
  return text === undefined ? undefined : (JSON.parse(text) as ParametersFile);
}

export function checkParametersFile(infra: Infra): string[] {
  const problems: string[] = [];
  const file = parametersFile(infra);
  if (!file?.parameters) return ['main.parameters.json is missing or has no parameters'];
  const params = new Map(infra.main.params.map((param) => [param.name, param]));
  for (const [name, entry] of Object.entries(file.parameters)) {
    const param = params.get(name);
    if (!param) {
      problems.push(`main.parameters.json: ${name} is not a parameter of main.bicep`);
      continue;
    }
    const value = entry.value;
    const expectedType = param.type.trim();
    const actualType =
      typeof value === 'number'
        ? 'int'
        : typeof value === 'boolean'
          ? 'bool'
          : Array.isArray(value)
            ? 'array'
            : value === null
              ? 'null'
              : typeof value === 'string'
                ? 'string'
                : 'object';
    if (actualType !== expectedType)
      problems.push(`main.parameters.json: ${name} is ${actualType}, main.bicep declares ${expectedType}`);
    const allowed = decorator(param, 'allowed');
    if (
      allowed !== undefined &&
      !allowed.includes(typeof value === 'string' ? `'${value}'` : String(value))
    ) {
      problems.push(
        `main.parameters.json: ${name} = ${JSON.stringify(value)} is not one of the allowed values`,
      );
    }
    const min = decorator(param, 'minValue');
    const max = decorator(param, 'maxValue');
    if (typeof value === 'number' && min !== undefined && value < Number(min))
      problems.push(`main.parameters.json: ${name} is below ${min}`);
    if (typeof value === 'number' && max !== undefined && value > Number(max))
      problems.push(`main.parameters.json: ${name} is above ${max}`);
    const minLength = decorator(param, 'minLength');
    const maxLength = decorator(param, 'maxLength');
    if (typeof value === 'string' && minLength !== undefined && value.length < Number(minLength))
      problems.push(`main.parameters.json: ${name} is shorter than ${minLength}`);
    if (typeof value === 'string' && maxLength !== undefined && value.length > Number(maxLength))
      problems.push(`main.parameters.json: ${name} is longer than ${maxLength}`);
  }
  for (const param of infra.main.params) {
    if (param.defaultValue === undefined && !(param.name in file.parameters)) {
      problems.push(`main.parameters.json: required parameter ${param.name} has no value`);
    }
  }
  return problems;
}

export function checkMonitoring(infra: Infra): string[] {
  const problems: string[] = [];
  const workspace = infra.only('Microsoft.OperationalInsights/workspaces', problems);
  const appInsights = infra.only('Microsoft.Insights/components', problems);
  if (appInsights && workspace) {
    if (
      !sourceOf(valueAt(appInsights.body, 'properties.WorkspaceResourceId')).includes(
        `${workspace.symbol}.id`,
      )
    ) {
      problems.push('application insights: must be workspace-based (WorkspaceResourceId = the workspace)');
    }
  }
  const actionGroup = infra.only('Microsoft.Insights/actionGroups', problems);
  if (actionGroup) {
    const receivers = valueAt(actionGroup.body, 'properties.emailReceivers');
    const address = receivers?.kind === 'array' ? valueAt(receivers.items[0], 'emailAddress') : undefined;
    const file = infra.bicep.get(actionGroup.file) as BicepFile;
    const param = isParamReference(file, address);
    if (!param) problems.push('action group: the e-mail receiver must come from a parameter');
    else if (
      !infra
        .argumentsFor(actionGroup.file, param.name)
        .some((argument) => isParamReference(infra.main, argument.value))
    ) {
      problems.push('action group: the e-mail address must be a parameter of main.bicep');
    }
  }
  const rules = infra.resources('Microsoft.Insights/scheduledQueryRules');
  const queries: string[] = [];
  for (const rule of rules) {
    const criterion = valueAt(rule.body, 'properties.criteria.allOf');
    const first = criterion?.kind === 'array' ? criterion.items[0] : undefined;
    const query = infra.stringValue(rule.file, valueAt(first, 'query'));
    if (query === undefined) {
      problems.push(`alert ${rule.symbol}: no query`);
      continue;
    }
    queries.push(query);
    const column = stringAt(first, 'metricMeasureColumn');
    if (column !== undefined && !new RegExp(`\\b${column}\\s*=`).test(query)) {
      problems.push(`alert ${rule.symbol}: the query does not produce its metricMeasureColumn ${column}`);
    }
    if (
      actionGroup &&
      !sourceOf(valueAt(rule.body, 'properties.actions.actionGroups')).includes(`${actionGroup.symbol}.id`)
    ) {
      problems.push(`alert ${rule.symbol}: must notify the action group`);
    }
    if (
      appInsights &&
      !sourceOf(valueAt(rule.body, 'properties.scopes')).includes(`${appInsights.symbol}.id`)
    ) {
      problems.push(`alert ${rule.symbol}: must query Application Insights`);
    }
    if (booleanAt(rule.body, 'properties.enabled') !== true)
      problems.push(`alert ${rule.symbol}: must be enabled`);
  }
  const expectations: Array<[string, (query: string) => boolean]> = [
    ['failure rate', (query) => /customDimensions\.outcome/.test(query) && query.includes('"failed"')],
    ['requests that gave up (poison queue)', (query) => query.includes('"GAVE_UP"')],
    ['RA certificate expiry', (query) => query.includes('"pkcs.raCertificateDaysToExpiry"')],
  ];
  for (const [what, matches] of expectations) {
    if (!queries.some(matches)) problems.push(`alerts: no alert rule for ${what}`);
  }
  problems.push(...checkWorkbook(infra));
  return problems;
}

interface WorkbookItem {
  name?: string;
  type?: number;
  content?: {
    version?: string;
    query?: string;
    queryType?: number;
    resourceType?: string;
    timeContextFromParameter?: string;
    parameters?: Array<{ name?: string }>;
  };
}

/** The workbook JSON the workbook resource loads, or the problem that prevents reading it. */
function workbookDefinition(
  infra: Infra,
): { path: string; version?: string; items: WorkbookItem[] } | { problem: string } {
  const problems: string[] = [];
  const workbook = infra.only('Microsoft.Insights/workbooks', problems);
  if (!workbook) return { problem: problems.join('; ') };
  const serialized = sourceOf(valueAt(workbook.body, 'properties.serializedData'));
  const file = infra.bicep.get(workbook.file) as BicepFile;
  const content = file.vars.find((variable) => serialized.includes(variable.name));
  const load = content && /loadJsonContent\('([^']+)'\)/.exec(sourceOf(content.value));
  if (!load) return { problem: 'workbook: serializedData must load the workbook JSON' };
  const jsonPath = path.posix.normalize(path.posix.join(path.posix.dirname(workbook.file), load[1]));
  const text = infra.sources.files[jsonPath];
  if (text === undefined) return { problem: `workbook: ${jsonPath} is missing` };
  const parsed = JSON.parse(text) as { version?: string; items?: WorkbookItem[] };
  return { path: jsonPath, version: parsed.version, items: parsed.items ?? [] };
}

/** Every Kusto query of the alerts and the workbook, with where it is. */
export function monitoringQueries(infra: Infra): Array<{ where: string; query: string }> {
  const queries: Array<{ where: string; query: string }> = [];
  for (const rule of infra.resources('Microsoft.Insights/scheduledQueryRules')) {
    const criterion = valueAt(rule.body, 'properties.criteria.allOf');
    const first = criterion?.kind === 'array' ? criterion.items[0] : undefined;
    const query = infra.stringValue(rule.file, valueAt(first, 'query'));
    if (query !== undefined) queries.push({ where: `alert ${rule.symbol}`, query });
  }
  const workbook = workbookDefinition(infra);
  if (!('problem' in workbook)) {
    for (const item of workbook.items) {
      const query = item.content?.query;
      if (query !== undefined) queries.push({ where: `workbook panel ${item.name ?? '?'}`, query });
    }
  }
  return queries;
}

/** Metrics the workbook shows from the per-request traces instead (one trace per request carries the same). */
const METRICS_SHOWN_FROM_TRACES: ReadonlySet<string> = new Set(['pkcs.issued', 'pkcs.failures']);

function checkWorkbook(infra: Infra): string[] {
  const problems: string[] = [];
  const workbook = workbookDefinition(infra);
  if ('problem' in workbook) return [workbook.problem];
  if (workbook.version !== 'Notebook/1.0') problems.push('workbook: version must be Notebook/1.0');
  const parameterNames = new Set(
    workbook.items.flatMap((item) => (item.content?.parameters ?? []).map((parameter) => parameter.name)),
  );
  const names = workbook.items.map((item) => item.name);
  if (new Set(names).size !== names.length) problems.push('workbook: item names must be unique');
  const itemQueries: string[] = [];
  for (const item of workbook.items) {
    const content = item.content;
    if (content?.query === undefined) continue;
    itemQueries.push(content.query);
    const label = `workbook panel ${item.name ?? '?'}`;
    if (item.type !== 3 || content.version !== 'KqlItem/1.0') {
      problems.push(`${label}: a query panel is type 3, version KqlItem/1.0`);
    }
    if (content.queryType !== 0 || content.resourceType !== 'microsoft.insights/components') {
      problems.push(
        `${label}: must query the Application Insights logs (queryType 0, microsoft.insights/components)`,
      );
    }
    if (content.query.includes('{TimeRange')) {
      if (content.timeContextFromParameter !== 'TimeRange' || !parameterNames.has('TimeRange')) {
        problems.push(`${label}: uses {TimeRange} but takes its time range from no TimeRange parameter`);
      }
    }
  }
  const panels: Array<[string, RegExp]> = [
    ['issuance over time', /"issued"[\s\S]*bin\(timestamp/],
    ['failures by error code', /"failed"[\s\S]*by errorCode/],
    ['CA latency', /pkcs\.caLatencyMs/],
    [
      'CA calls by operation (success rate and duration)',
      /^dependencies\b[\s\S]*"PKI-WS"[\s\S]*success[\s\S]*duration[\s\S]*by operation = name/,
    ],
    ['queue wait', /pkcs\.queueWaitMs/],
    ['Key Vault reads', /^dependencies\b[\s\S]*"Azure Key Vault"/],
  ];
  for (const [what, pattern] of panels) {
    if (!itemQueries.some((query) => pattern.test(query))) problems.push(`workbook: no panel for ${what}`);
  }
  // Whatever the broker sends should be visible: each metric and each kind of dependency.
  const vocabulary = telemetryVocabulary(infra.sources.telemetrySources);
  for (const metric of vocabulary.metricNames) {
    if (METRICS_SHOWN_FROM_TRACES.has(metric)) continue;
    if (!itemQueries.some((query) => query.includes(`"${metric}"`))) {
      problems.push(`workbook: no panel shows the metric ${metric}`);
    }
  }
  for (const system of vocabulary.dependencySystems) {
    if (!itemQueries.some((query) => query.includes(`"${system}"`))) {
      problems.push(`workbook: no panel shows the ${system} dependencies`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------------
// What the broker sends to Application Insights, read from its sources, so the queries can be held to it.

/** The Application Insights tables the broker writes to and the queries may read. */
export const TELEMETRY_TABLES = ['traces', 'dependencies', 'customMetrics'] as const;
export type TelemetryTable = (typeof TELEMETRY_TABLES)[number];

export interface TelemetryVocabulary {
  /** customMetrics names (the MetricName type). */
  metricNames: Set<string>;
  /** customDimensions keys by the table they arrive in. */
  dimensions: Record<TelemetryTable, Set<string>>;
  /** customDimensions.system of the dependencies (DependencyTelemetry.type). */
  dependencySystems: Set<string>;
  /** Values a query may compare with: outcomes, error codes, dependency systems, stringified booleans. */
  values: Set<string>;
}

/** From `open` (a bracket) to its partner, skipping comments and string and template literals. */
function bracketed(text: string, open: number): string {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  let index = open;
  while (index < text.length) {
    const char = text[index];
    if (text.startsWith('//', index) || text.startsWith('/*', index)) {
      const end = text.startsWith('//', index) ? text.indexOf('\n', index) : text.indexOf('*/', index) + 2;
      if (end < 2) break;
      index = end;
      continue;
    }
    if (char === "'" || char === '"' || char === '`') {
      index++;
      while (index < text.length && text[index] !== char) index += text[index] === '\\' ? 2 : 1;
    } else if (pairs[char] !== undefined) stack.push(pairs[char]);
    else if (char === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, index + 1);
    }
    index++;
  }
  return text.slice(open);
}

/** The bracketed text that follows the first match of `pattern` (whose match ends at or before the bracket). */
function bracketedAfter(text: string, pattern: RegExp, bracket: string): string {
  const match = pattern.exec(text);
  if (!match) return '';
  const open = text.indexOf(bracket, match.index + match[0].length - 1);
  return open < 0 ? '' : bracketed(text, open);
}

const quotedIn = (text: string): string[] => [...text.matchAll(/'([^']*)'/g)].map((match) => match[1]);

/** Object keys in a region of TypeScript: `key:`, `'dotted.key':` and shorthand `{ key }`. */
function objectKeys(region: string): string[] {
  const keys = [...region.matchAll(/(?:^|[{,])\s*(?:'([\w.]+)'|([A-Za-z_]\w*))\s*(?=:(?!:)|})/gm)].map(
    (match) => match[1] ?? match[2],
  );
  // Shorthand properties anywhere in a brace group: `{ queue, queueName }`.
  const shorthand = [...region.matchAll(/\{([^{}]*)\}/g)].flatMap((match) =>
    match[1]
      .split(',')
      .map((part) => part.trim())
      .filter((part) => /^[A-Za-z_]\w*$/.test(part)),
  );
  return [
    ...keys,
    ...shorthand,
    ...[...region.matchAll(/\bproperties\.([A-Za-z_]\w*)\s*=/g)].map((match) => match[1]),
  ];
}

export function telemetryVocabulary(sources: Record<string, string>): TelemetryVocabulary {
  const telemetry = sources['shared/telemetry/telemetry.ts'] ?? '';
  const errors = sources['shared/contract/errors.ts'] ?? '';
  const metricNames = new Set(
    quotedIn(/export type MetricName\s*=([^;]*);/.exec(telemetry)?.[1] ?? '').filter((name) =>
      name.startsWith('pkcs.'),
    ),
  );
  // The per-request trace.
  const traceRegion = bracketedAfter(
    telemetry,
    /export function requestTraceProperties\([^)]*\)[^{]*\{/,
    '{',
  );
  // The dependency's properties.
  const dependencyRegion = bracketedAfter(
    bracketedAfter(telemetry, /\.client\.trackDependency\(/, '('),
    /\bproperties:\s*\{/,
    '{',
  );
  // Metric dimensions, given literally or through `const dimensions`.
  const metricRegions = [...telemetry.matchAll(/\bconst dimensions\b[^;]*;/g)].map((match) => match[0]);
  for (const source of Object.values(sources)) {
    for (const call of source.matchAll(/\.trackMetric(?:\?\.)?\(\s*'pkcs\./g)) {
      metricRegions.push(bracketed(source, source.indexOf('(', call.index)));
    }
  }
  const dependencyType = /\btype:\s*([^;]*);/.exec(
    bracketedAfter(telemetry, /export interface DependencyTelemetry\s*\{/, '{'),
  );
  const dependencySystems = new Set(quotedIn(dependencyType?.[1] ?? ''));
  const outcomes = quotedIn(/export type RequestOutcome\s*=([^;]*);/.exec(telemetry)?.[1] ?? '');
  const queueRoles = quotedIn(/export type QueueRole\s*=([^;]*);/.exec(telemetry)?.[1] ?? '');
  const errorCodes = quotedIn(bracketedAfter(errors, /export const ERROR_CODES\s*=\s*\[/, '['));
  return {
    metricNames,
    dimensions: {
      traces: new Set(objectKeys(traceRegion)),
      dependencies: new Set(objectKeys(dependencyRegion)),
      customMetrics: new Set(metricRegions.flatMap(objectKeys)),
    },
    dependencySystems,
    // Booleans travel as "true"/"false" strings (String(success), String(firstDelivery)).
    values: new Set([...outcomes, ...errorCodes, ...dependencySystems, ...queueRoles, 'true', 'false']),
  };
}

/** The alerts and the workbook read only names and values the broker really sends. */
export function checkTelemetryQueries(infra: Infra): string[] {
  const problems: string[] = [];
  const vocabulary = telemetryVocabulary(infra.sources.telemetrySources);
  const { dimensions } = vocabulary;
  if (
    vocabulary.metricNames.size < 3 ||
    dimensions.traces.size < 4 ||
    dimensions.dependencies.size < 1 ||
    dimensions.customMetrics.size < 3 ||
    vocabulary.values.size < 10
  ) {
    problems.push('telemetry sources: too little recognised; the reader of shared/telemetry is out of date');
  }
  for (const { where, query } of monitoringQueries(infra)) {
    const table = /^\s*([A-Za-z_]\w*)/.exec(query)?.[1] ?? '';
    if (!(TELEMETRY_TABLES as readonly string[]).includes(table)) {
      problems.push(`${where}: reads the table "${table}", which the broker does not write to`);
      continue;
    }
    const known = dimensions[table as TelemetryTable];
    for (const match of query.matchAll(/customDimensions(?:\.([A-Za-z_]\w*)|\[\s*["']([^"']+)["']\s*\])/g)) {
      const name = match[1] ?? match[2];
      if (!known.has(name)) {
        problems.push(`${where}: reads customDimensions.${name}, which the broker does not send in ${table}`);
      }
    }
    for (const match of query.matchAll(/"([^"]*)"|'([^']*)'/g)) {
      const literal = match[1] ?? match[2];
      if (literal.startsWith('pkcs.')) {
        if (!vocabulary.metricNames.has(literal)) {
          problems.push(`${where}: reads the metric ${literal}, which the broker does not send`);
        }
      } else if (!vocabulary.values.has(literal)) {
        problems.push(`${where}: compares with "${literal}", a value the broker never sends`);
      }
    }
  }
  return problems;
}

export function checkOutputsAndModules(infra: Infra): string[] {
  const problems: string[] = [];
  const outputs = new Set(infra.main.outputs.map((output) => output.name));
  for (const name of REQUIRED_OUTPUTS)
    if (!outputs.has(name)) problems.push(`main.bicep: output ${name} is missing`);
  for (const [file, parsed] of infra.bicep) {
    // A for-expression must iterate values known when the deployment starts (Bicep error BCP178 otherwise).
    const loops: string[] = [];
    const collect = (value: BicepValue | undefined): void => {
      if (value === undefined) return;
      if (value.kind === 'for') {
        loops.push(value.header.replace(/^.*?\bin\b/, ''));
        collect(value.body);
      } else if (value.kind === 'object') value.entries.forEach((entry) => collect(entry.value));
      else if (value.kind === 'array') value.items.forEach(collect);
    };
    parsed.resources.forEach((resource) => collect(resource.body));
    parsed.modules.forEach((module) => collect(module.body));
    parsed.vars.forEach((variable) => collect(variable.value));
    for (const loop of loops) {
      const expanded = infra.expandVars(file, loop);
      if (/\.properties\b|\.outputs\.|\breference\(|\blist\w*\(/.test(expanded)) {
        problems.push(
          `${file}: a for-expression iterates a value known only during deployment: ${loop.trim()}`,
        );
      }
    }
    if (parsed.targetScope !== undefined && parsed.targetScope !== 'resourceGroup') {
      problems.push(`${file}: targetScope must be resourceGroup`);
    }
    for (const module of parsed.modules) {
      const target = infra.moduleTarget(file, module.path);
      const targetFile = infra.bicep.get(target);
      if (!targetFile) {
        problems.push(`${file}: module ${module.symbol} points at missing ${target}`);
        continue;
      }
      const given = new Set(keysOf(valueAt(module.body, 'params')));
      for (const param of targetFile.params) {
        if (param.defaultValue === undefined && !given.has(param.name)) {
          problems.push(`${file}: module ${module.symbol} does not pass required parameter ${param.name}`);
        }
      }
      for (const name of given) {
        if (!targetFile.params.some((param) => param.name === name)) {
          problems.push(`${file}: module ${module.symbol} passes unknown parameter ${name}`);
        }
      }
    }
  }
  return problems;
}

export const ALL_CHECKS: ReadonlyArray<[string, (infra: Infra) => string[]]> = [
  ['storage', checkStorage],
  ['function app', checkFunctionApp],
  ['app settings', checkAppSettings],
  ['key vault', checkKeyVault],
  ['role assignments', checkRoleAssignments],
  ['no secrets', checkNoSecrets],
  ['parameters file', checkParametersFile],
  ['monitoring', checkMonitoring],
  ['telemetry names in queries', checkTelemetryQueries],
  ['outputs and modules', checkOutputsAndModules],
];

export function allProblems(sources: InfraSources): string[] {
  const infra = new Infra(sources);
  return ALL_CHECKS.flatMap(([, check]) => check(infra));
}
