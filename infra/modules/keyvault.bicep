// The vault that holds the RA certificate. Access is Azure RBAC only (no access policies), deletes are soft
// and cannot be purged early, so a mistaken delete of the RA certificate can always be recovered.

@description('Key Vault name (3-24 letters, digits and hyphens, starting with a letter).')
@minLength(3)
@maxLength(24)
param keyVaultName string

param location string
param tags object

@description('Enabled: reachable over the public endpoint (RBAC still applies). Disabled: only through a private endpoint, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Days a deleted certificate or secret stays recoverable (7-90).')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'None'
    }
  }
}

output keyVaultName string = vault.name
output keyVaultId string = vault.id
output keyVaultUri string = vault.properties.vaultUri
