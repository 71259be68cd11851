// The broker's Function App on the Flex Consumption plan (Linux, Node 22). It runs as its system-assigned
// managed identity: the host reaches storage with it (identity-based AzureWebJobsStorage), the broker reaches
// Key Vault with it (DefaultAzureCredential). No key or connection string with a key is ever configured.

param functionAppName string
param planName string
param location string
param tags object

param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainerUrl string

@description('Application Insights connection string (it names the resource; its instrumentation key is an identifier, not a credential).')
param applicationInsightsConnectionString string

@description('Broker settings (name → value), all strings; see README "Settings".')
param brokerAppSettings object

@description('Upper bound of instances the plan scales out to. Each instance runs up to CA_MAX_CONCURRENCY CA calls.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

// Identity-based host storage: the Functions host and the queue bindings (connection "AzureWebJobsStorage")
// take these instead of a connection string. With no clientId the system-assigned identity is used.
var hostStorageSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
}

// The host's default page at / would tell anonymous callers that a Functions host answers, and its version.
var hostSettings = {
  AzureWebJobsDisableHomepage: 'true'
}

var telemetrySettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
}

// Built from parameters only: a for-expression needs values known when the deployment starts, which a
// property read from a resource (the connection string) is not; hence it arrives as a parameter.
var allAppSettings = union(hostStorageSettings, hostSettings, telemetrySettings, brokerAppSettings)

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    // No ftpsState (nor linuxFxVersion, alwaysOn, use32BitWorkerProcess…): Flex Consumption offers no FTP and
    // rejects those site configuration properties (ARM error 51021); the runtime is in functionAppConfig.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
      appSettings: [
        for setting in items(allAppSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Publishing with user name and password (FTP, the SCM site's basic auth) is off; deployments authenticate
// with Entra ID (az functionapp deployment source config-zip). The resource provider has been seen to refuse
// these policies without a location although the type does not declare one (a compiler warning, not an error).
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  location: location
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  location: location
  properties: {
    allow: false
  }
}

output functionAppName string = functionApp.name
output functionAppId string = functionApp.id
output principalId string = functionApp.identity.principalId
output defaultHostName string = functionApp.properties.defaultHostName
