// Log Analytics + workspace-based Application Insights, the operator's action group, the four alerts and the
// broker workbook. The alerts and the workbook read the broker's own telemetry (shared/telemetry):
//   traces        one per request; customDimensions.outcome (issued | failed | retrying | replayed),
//                 customDimensions.errorCode (the contract code), customDimensions.durationMs, .caHost
//   dependencies  every CA attempt (customDimensions.system "PKI-WS", name = operation, target = CA host) and
//                 every Key Vault read (system "Azure Key Vault"); success, duration, resultCode
//   customMetrics pkcs.raCertificateDaysToExpiry (days left on the RA certificate), pkcs.caLatencyMs (one CA call),
//                 pkcs.queueWaitMs (enqueue to processing; customDimensions.firstDelivery), pkcs.queueLength
//                 (every 5 minutes per queue; customDimensions.queue requests | poison | poisonUnhandled | results |
//                 revocations | revocationPoison | revocationPoisonUnhandled | revocationResults), pkcs.revoked
//                 (customDimensions.reason, .alreadyRevoked), pkcs.revocationFailures (customDimensions.errorCode)

param workspaceName string
param applicationInsightsName string
param actionGroupName string
param location string
param tags object

@description('Days the workspace keeps telemetry.')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('E-mail address that receives the alerts.')
param alertEmailAddress string

@description('Failure-rate alert: percentage of failed requests (of issued + failed, 15 minutes, at least 5 requests) above which it fires.')
@minValue(1)
@maxValue(100)
param failureRateThresholdPercent int

@description('RA certificate alert: fires when the certificate has fewer days left than this.')
@minValue(1)
@maxValue(365)
param raCertificateExpiryWarningDays int

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'pkcsbroker'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

// Share of requests that ended failed. Only final outcomes count (retrying deliveries and replays do not),
// and a quiet quarter hour with fewer than 5 requests never fires.
var failureRateQuery = '''
traces
| where isnotempty(customDimensions.requestId)
| extend outcome = tostring(customDimensions.outcome)
| where outcome in ("issued", "failed")
| summarize failed = countif(outcome == "failed"), total = count()
| where total >= 5
| extend failureRatePercent = round(100.0 * failed / total, 1)
'''

// Messages that outlasted every delivery: the last delivery or the poison-queue function reports GAVE_UP.
var gaveUpQuery = '''
traces
| where tostring(customDimensions.errorCode) == "GAVE_UP"
| summarize gaveUp = count()
'''

// Messages stuck in the poison queue: pkcsRequestPoison drains it within seconds, so a poison queue that is
// not empty at every report of a quarter hour means that function is failing too (ledger or result queue
// unreachable). Anything in the poison queue's own poison queue is read by nothing: an operator must requeue it.
// (Storage's QueueMessageCount metric has no queue dimension, hence the broker's own pkcs.queueLength.)
var poisonQueueQuery = '''
customMetrics
| where name == "pkcs.queueLength"
| extend queue = tostring(customDimensions.queue)
| summarize stuckInPoison = minif(valueMin, queue == "poison"), stuckRevocations = minif(valueMin, queue == "revocationPoison"), unhandled = maxif(valueMax, queue in ("poisonUnhandled", "revocationPoisonUnhandled"))
| extend stuckMessages = max_of(coalesce(stuckInPoison, 0.0), coalesce(stuckRevocations, 0.0), coalesce(unhandled, 0.0))
'''

// The broker reports the RA certificate's remaining days each time it loads the credential. Key Vault has no
// expiry metric, and its CertificateNearExpiry Event Grid event cannot reach an action group directly. The
// latest report counts, so the alert clears once a renewed certificate is loaded (within RA_CACHE_TTL_MS),
// not a day later.
var raCertificateExpiryQuery = '''
customMetrics
| where name == "pkcs.raCertificateDaysToExpiry"
| summarize arg_max(timestamp, valueMin)
| project daysToExpiry = valueMin
'''

resource failureRateAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${applicationInsightsName}-failure-rate'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'PKCS broker: failure rate above ${failureRateThresholdPercent}%'
    description: 'More than ${failureRateThresholdPercent}% of PKCS requests failed in the last 15 minutes. The workbook shows which error codes; each code has a remedy in the README.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: failureRateQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'failureRatePercent'
          operator: 'GreaterThan'
          threshold: failureRateThresholdPercent
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource gaveUpAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${applicationInsightsName}-poison-messages'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'PKCS broker: requests gave up (poison queue)'
    description: 'At least one request message was delivered the maximum number of times without success and ended as GAVE_UP. Usually the CA or Key Vault was unreachable for longer than the retries; the result message carries the last error. After fixing the cause, send such requests again with a new requestId (a requestId keeps its result).'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: gaveUpQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'gaveUp'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource poisonQueueAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${applicationInsightsName}-poison-queue-length'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'PKCS broker: messages stuck in the poison queue'
    description: 'Request messages stay in the poison queue (its function pkcsRequestPoison is failing) or reached the poison queue of the poison queue, which nothing reads. Check the function failures in Application Insights, fix the cause (usually storage access), then move the messages back to the request queue: requests are idempotent by requestId.'
    severity: 1
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: poisonQueueQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'stuckMessages'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource raCertificateExpiryAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${applicationInsightsName}-ra-certificate-expiry'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'PKCS broker: RA certificate expires within ${raCertificateExpiryWarningDays} days'
    description: 'The RA certificate in Key Vault expires in fewer than ${raCertificateExpiryWarningDays} days. Renew it at DigiCert, import the new PFX under the same name and update RA_CERT_THUMBPRINT if it is pinned.'
    severity: 2
    enabled: true
    scopes: [
      appInsights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P1D'
    criteria: {
      allOf: [
        {
          query: raCertificateExpiryQuery
          timeAggregation: 'Minimum'
          metricMeasureColumn: 'daysToExpiry'
          operator: 'LessThan'
          threshold: raCertificateExpiryWarningDays
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

var workbookContent = loadJsonContent('../workbooks/pkcs-broker.workbook.json')

resource workbook 'Microsoft.Insights/workbooks@2022-04-01' = {
  name: guid(resourceGroup().id, applicationInsightsName, 'pkcs-broker-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'PKCS broker'
    category: 'workbook'
    sourceId: toLower(appInsights.id)
    serializedData: string(union(workbookContent, {
      fallbackResourceIds: [
        appInsights.id
      ]
    }))
  }
}

output applicationInsightsName string = appInsights.name
// Read from the resource at deployment, never written into a template or parameter file.
output applicationInsightsConnectionString string = appInsights.properties.ConnectionString
output applicationInsightsId string = appInsights.id
output workspaceId string = workspace.id
output actionGroupId string = actionGroup.id
output workbookId string = workbook.id
