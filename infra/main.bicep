// PKCS certificate broker (DigiCert PKI Platform) on Azure Functions Flex Consumption.
// Deploy into an existing resource group:
//   az deployment group create -g <resource-group> -f infra/main.bicep -p infra/main.parameters.json
// No template holds a secret: storage is reached with the app's managed identity (shared keys are off), the RA
// certificate is imported into the vault by the operator, and the Application Insights connection string is read
// from the resource at deployment.

targetScope = 'resourceGroup'

@description('Short lowercase prefix for resource names (letters and digits).')
@minLength(2)
@maxLength(10)
param namePrefix string = 'pkcsbroker'

@description('Region of every resource; must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Tags put on every resource.')
param tags object = {
  workload: 'pkcs-certificate-broker'
}

@description('E-mail address that receives the alerts (failure rate, requests that gave up, RA certificate expiry).')
param alertEmailAddress string

// ---- Broker settings (README "Settings"; names fixed by the contract) ----

@description('CA_ALLOWED_HOSTS: comma-separated host[:port] of the DigiCert PKI-WS endpoints the broker may call.')
param caAllowedHosts string = 'pki-ws.symauth.com'

@description('RA_CERTIFICATE_NAME: name of the RA certificate in the vault (imported from the DigiCert RA PFX, exportable key).')
param raCertificateName string = 'digicert-ra'

@description('RA_CERT_THUMBPRINT: optional SHA-1 thumbprint pin of the RA certificate (40 hex characters; several comma-separated while rotating); empty for none.')
param raCertThumbprint string = ''

@description('PKCS_REQUEST_QUEUE: queue the requests arrive on (its poison queue is <name>-poison).')
param requestQueueName string = 'pkcs-requests'

@description('PKCS_RESULT_QUEUE: queue the results are written to.')
param resultQueueName string = 'pkcs-results'

@description('PKCS_REVOKE_QUEUE: queue of revocation requests.')
param revokeQueueName string = 'pkcs-revocations'

@description('PKCS_REVOKE_RESULT_QUEUE: queue the revocation results are written to.')
param revokeResultQueueName string = 'pkcs-revocation-results'

@description('LEDGER_TABLE: table of the request ledger.')
param ledgerTableName string = 'pkcsrequests'

@description('CA_CONNECT_TIMEOUT_MS: connection timeout to the CA.')
@minValue(100)
@maxValue(600000)
param caConnectTimeoutMs int = 10000

@description('CA_REQUEST_TIMEOUT_MS: whole-request timeout per CA attempt.')
@minValue(100)
@maxValue(600000)
param caRequestTimeoutMs int = 30000

@description('CA_MAX_ATTEMPTS: attempts per CA call within one delivery (transient failures only).')
@minValue(1)
@maxValue(10)
param caMaxAttempts int = 3

@description('CA_RETRY_BASE_DELAY_MS: backoff before the 2nd attempt; doubles per attempt, full jitter.')
@minValue(0)
@maxValue(60000)
param caRetryBaseDelayMs int = 500

@description('CA_CIRCUIT_FAILURES: transient failures in a row of one CA host that open its circuit.')
@minValue(1)
@maxValue(1000)
param caCircuitFailures int = 5

@description('CA_CIRCUIT_HALF_OPEN_MS: how long an open circuit refuses calls before probing the CA again.')
@minValue(0)
@maxValue(3600000)
param caCircuitHalfOpenMs int = 30000

@description('CA_MAX_CONCURRENCY: CA calls at a time per instance.')
@minValue(1)
@maxValue(1000)
param caMaxConcurrency int = 8

@description('CA_TLS_PINS: optional comma-separated pins of the CA\'s TLS keys (base64 SHA-256 of a SubjectPublicKeyInfo, as HPKP); some certificate of the CA\'s chain must have one. Empty: no pinning.')
param caTlsPins string = ''

@description('RA_CACHE_TTL_MS: how long the RA credential is kept in memory before Key Vault is read again.')
@minValue(0)
@maxValue(86400000)
param raCacheTtlMs int = 3600000

@description('PFX_ENCRYPTION: AES256 (PBES2) or 3DES (older devices).')
@allowed([
  'AES256'
  '3DES'
])
param pfxEncryption string = 'AES256'

@description('PROFILE_OIDS: comma-separated DigiCert certificate profile OIDs in use (the doctor checks their policies); empty for none.')
param profileOids string = ''

@description('ALLOWED_DOMAINS: comma-separated e-mail/UPN domains requests may name (*.example.com for subdomains); empty: any.')
param allowedDomains string = ''

@description('MAX_CERTIFICATES_PER_SEAT_PER_DAY: certificates a DigiCert seat may be enrolled for in 24 h before a request is REQUEST_NOT_ALLOWED (counted in the ledger; every certificate takes a seat licence); 0 for no limit.')
@minValue(0)
@maxValue(100000)
param maxCertificatesPerSeatPerDay int = 10

@description('PROFILE_FIELD_MAP: JSON {"variable": "source"} for profiles whose variables have other names; empty for none.')
param profileFieldMap string = ''

@description('TELEMETRY_INCLUDE_PERSONAL_DATA: send e-mail addresses/UPNs in clear (otherwise a SHA-256 prefix).')
param telemetryIncludePersonalData bool = false

@description('SID_VERIFY_WITH_GRAPH: refuse a securityIdentifier that Microsoft Graph does not confirm as the onPremisesSecurityIdentifier of the UPN in the request. The managed identity of the app then needs the Graph application permission User.Read.All, granted by a directory administrator (docs/deployment-guide.md step 4); this template does not grant it.')
param sidVerifyWithGraph bool = false

@description('GRAPH_BASE_URL: the Microsoft Graph endpoint of your cloud (https, no path).')
param graphBaseUrl string = 'https://graph.microsoft.com'

@description('QUEUE_MAX_DEQUEUE_COUNT: must equal host.json extensions.queues.maxDequeueCount.')
@minValue(1)
@maxValue(100)
param queueMaxDequeueCount int = 5

@description('REQUEST_MAX_WAIT_MINUTES: how long a request waits out an unreachable CA or Key Vault before it ends GAVE_UP; 0 for only the queue deliveries.')
@minValue(0)
@maxValue(10020)
param requestMaxWaitMinutes int = 240

@description('LEDGER_RETENTION_DAYS: ledger entities not written for this many days are deleted daily (results carry personal data); 0 keeps them all, else at least 8.')
@minValue(0)
@maxValue(36500)
param ledgerRetentionDays int = 90

@description('REQUEST_DEFER_MIN_SECONDS: shortest delay before a waiting request is tried again (grows with its age, up to 15 minutes).')
@minValue(1)
@maxValue(900)
param requestDeferMinSeconds int = 60

@description('CA_LATE_ISSUE_WINDOW_SECONDS: how long after an enrollment whose answer was lost the CA may still issue for it; until then a search that finds nothing waits instead of enrolling again.')
@minValue(0)
@maxValue(3600)
param caLateIssueWindowSeconds int = 120

@description('KEY_POOL_SIZE: key pairs generated ahead per key size, in memory only, so the first certificates of a burst do not wait for keygen; 0: off.')
@minValue(0)
@maxValue(256)
param keyPoolSize int = 0

@description('REQUEST_SIGNING_SECRET_NAME: Key Vault secret (in this vault) whose versions are the HMAC keys requests and revocations must be signed with; empty: unsigned messages are accepted.')
param requestSigningSecretName string = ''

// ---- Hosting, vault and monitoring ----

@description('Flex Consumption: most instances the app scales out to (bounds the load on the CA: instances × CA_MAX_CONCURRENCY).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Flex Consumption: memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Key Vault public network access. Disabled requires a private endpoint and VNet integration, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('Days a deleted vault object stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

@description('Days Log Analytics keeps telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Failure-rate alert threshold in percent of requests (15-minute window).')
@minValue(1)
@maxValue(100)
param failureRateThresholdPercent int = 10

@description('RA certificate expiry alert: days before expiry it starts firing.')
@minValue(1)
@maxValue(365)
param raCertificateExpiryWarningDays int = 30

var suffix = uniqueString(resourceGroup().id, namePrefix)
// Storage account and vault names allow no (or no repeated) hyphens.
var prefix = replace(toLower(namePrefix), '-', '')
var names = {
  storageAccount: take('st${prefix}${suffix}', 24)
  keyVault: take('kv-${take(prefix, 6)}-${suffix}', 24)
  functionApp: 'func-${prefix}-${suffix}'
  plan: 'plan-${prefix}-${suffix}'
  workspace: 'log-${prefix}-${suffix}'
  applicationInsights: 'appi-${prefix}-${suffix}'
  actionGroup: 'ag-${prefix}-${suffix}'
  deploymentContainer: 'app-package'
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    storageAccountName: names.storageAccount
    location: location
    tags: tags
    deploymentContainerName: names.deploymentContainer
    requestQueueName: requestQueueName
    resultQueueName: resultQueueName
    revokeQueueName: revokeQueueName
    revokeResultQueueName: revokeResultQueueName
    ledgerTableName: ledgerTableName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  params: {
    keyVaultName: names.keyVault
    location: location
    tags: tags
    publicNetworkAccess: keyVaultPublicNetworkAccess
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    applicationInsightsName: names.applicationInsights
    actionGroupName: names.actionGroup
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    alertEmailAddress: alertEmailAddress
    failureRateThresholdPercent: failureRateThresholdPercent
    raCertificateExpiryWarningDays: raCertificateExpiryWarningDays
  }
}

// Every setting the broker reads in Azure (shared/config/settings.ts). Local-only settings (the RA PFX file,
// AzureWebJobsStorage as a connection string) are deliberately absent.
var brokerAppSettings = {
  PKCS_REQUEST_QUEUE: requestQueueName
  PKCS_RESULT_QUEUE: resultQueueName
  PKCS_REVOKE_QUEUE: revokeQueueName
  PKCS_REVOKE_RESULT_QUEUE: revokeResultQueueName
  LEDGER_TABLE: ledgerTableName
  KEY_VAULT_URL: keyVault.outputs.keyVaultUri
  RA_CERTIFICATE_NAME: raCertificateName
  RA_CERT_THUMBPRINT: raCertThumbprint
  CA_ALLOWED_HOSTS: caAllowedHosts
  CA_CONNECT_TIMEOUT_MS: string(caConnectTimeoutMs)
  CA_REQUEST_TIMEOUT_MS: string(caRequestTimeoutMs)
  CA_MAX_ATTEMPTS: string(caMaxAttempts)
  CA_RETRY_BASE_DELAY_MS: string(caRetryBaseDelayMs)
  CA_CIRCUIT_FAILURES: string(caCircuitFailures)
  CA_CIRCUIT_HALF_OPEN_MS: string(caCircuitHalfOpenMs)
  CA_MAX_CONCURRENCY: string(caMaxConcurrency)
  CA_TLS_PINS: caTlsPins
  RA_CACHE_TTL_MS: string(raCacheTtlMs)
  PFX_ENCRYPTION: pfxEncryption
  PROFILE_OIDS: profileOids
  ALLOWED_DOMAINS: allowedDomains
  MAX_CERTIFICATES_PER_SEAT_PER_DAY: string(maxCertificatesPerSeatPerDay)
  PROFILE_FIELD_MAP: profileFieldMap
  TELEMETRY_INCLUDE_PERSONAL_DATA: telemetryIncludePersonalData ? 'true' : 'false'
  SID_VERIFY_WITH_GRAPH: sidVerifyWithGraph ? 'true' : 'false'
  GRAPH_BASE_URL: graphBaseUrl
  QUEUE_MAX_DEQUEUE_COUNT: string(queueMaxDequeueCount)
  REQUEST_MAX_WAIT_MINUTES: string(requestMaxWaitMinutes)
  LEDGER_RETENTION_DAYS: string(ledgerRetentionDays)
  REQUEST_DEFER_MIN_SECONDS: string(requestDeferMinSeconds)
  CA_LATE_ISSUE_WINDOW_SECONDS: string(caLateIssueWindowSeconds)
  KEY_POOL_SIZE: string(keyPoolSize)
  REQUEST_SIGNING_SECRET_NAME: requestSigningSecretName
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  params: {
    functionAppName: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    storageAccountName: storage.outputs.storageAccountName
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    brokerAppSettings: brokerAppSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module roleAssignments 'modules/roleAssignments.bicep' = {
  name: 'roleAssignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.storageAccountName
    keyVaultName: keyVault.outputs.keyVaultName
  }
}

output functionAppName string = functionApp.outputs.functionAppName
output keyVaultName string = keyVault.outputs.keyVaultName
output keyVaultUri string = keyVault.outputs.keyVaultUri
output functionAppPrincipalId string = functionApp.outputs.principalId
output storageAccountName string = storage.outputs.storageAccountName
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
output workbookId string = monitoring.outputs.workbookId
