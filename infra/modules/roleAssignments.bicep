// What the Function App's system-assigned identity may do, and nothing more: data-plane roles on the
// broker's own storage account and vault. No Owner, Contributor or key-listing role anywhere.

@description('Object id of the Function App\'s system-assigned managed identity.')
param principalId string

param storageAccountName string
param keyVaultName string

// Built-in role definition ids (the same in every tenant).
var roles = {
  // Host storage: blob leases for the queue listeners and the Flex deployment package container.
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  // The request, result and poison queues (trigger, output binding, poison moves).
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  // The request ledger table (LEDGER_TABLE); the app creates the table if it is missing.
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  // getCertificate (certificates/read) and getSecret of the certificate's secret (secrets/getSecret) for the
  // RA credential. Its data actions already include those of Key Vault Secrets User, so that role is not
  // assigned as well.
  keyVaultCertificateUser: 'db79e9a7-68ee-4b58-9aeb-b90e7c24fcba'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'PKCS broker: Functions host storage and deployment package'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'PKCS broker: request, result and poison queues'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'PKCS broker: request ledger table'
  }
}

// Vault scope: certificates are not ARM resources, so Bicep cannot scope an assignment to one certificate.
// The vault is the broker's own and should hold the RA certificate only.
resource certificateUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultCertificateUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCertificateUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'PKCS broker: read the RA certificate and its private key'
  }
}
