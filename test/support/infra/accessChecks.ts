/** Checks of access: Key Vault, the app's role assignments, no secret in a template or the parameters file. */
import { booleanAt, sourceOf, stringAt, valueAt, type BicepFile } from './bicepModel';
import { decorator, Infra, isParamReference } from './infra';

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
