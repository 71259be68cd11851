import { booleanAt, sourceOf, stringAt, valueAt } from '../../support/infra/bicepModel';
import { parseBicep } from '../../support/infra/bicepReader';

describe('bicepReader', () => {
  it('reads params with decorators, types and defaults', () => {
    const file = parseBicep(`
@description('Name, with a \\'quote\\' and a } brace')
@minLength(3)
param name string = 'abc'

@allowed([
  512
  2048
])
param memory int = 2048
param required string
@secure()
param password string
`);
    expect(file.params.map((param) => param.name)).toEqual(['name', 'memory', 'required', 'password']);
    const [name, memory, required, password] = file.params;
    expect(name.type).toBe('string');
    expect(name.defaultValue).toEqual({ kind: 'string', value: 'abc' });
    expect(name.decorators).toEqual([
      { name: 'description', args: "'Name, with a \\'quote\\' and a } brace'" },
      { name: 'minLength', args: '3' },
    ]);
    expect(memory.defaultValue).toEqual({ kind: 'number', value: 2048 });
    expect(memory.decorators[0].args).toContain('512');
    expect(required.defaultValue).toBeUndefined();
    expect(password.decorators).toEqual([{ name: 'secure', args: '' }]);
  });

  it('reads resources with type, api version, nested objects, arrays and expressions', () => {
    const file = parseBicep(`
// a comment with { braces } and 'quotes'
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: 'app-\${suffix}'
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned', extra: null }
  properties: {
    httpsOnly: true /* inline */
    serverFarmId: plan.id
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.owner
    )
    list: [
      'a'
      { name: 'b', value: 2 }
    ]
    ternary: enabled ? 'Allow' : 'Deny'
    'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
  }
}
`);
    expect(file.resources).toHaveLength(1);
    const [site] = file.resources;
    expect(site).toMatchObject({
      symbol: 'site',
      type: 'Microsoft.Web/sites',
      apiVersion: '2024-04-01',
      existing: false,
    });
    expect(valueAt(site.body, 'name')).toMatchObject({ kind: 'interpolated', expressions: ['suffix'] });
    expect(stringAt(site.body, 'identity.type')).toBe('SystemAssigned');
    expect(valueAt(site.body, 'identity.extra')).toEqual({ kind: 'null' });
    expect(booleanAt(site.body, 'properties.httpsOnly')).toBe(true);
    expect(sourceOf(valueAt(site.body, 'properties.serverFarmId'))).toBe('plan.id');
    expect(sourceOf(valueAt(site.body, 'properties.roleDefinitionId'))).toMatch(
      /^subscriptionResourceId\([\s\S]*roles\.owner\s*\)$/,
    );
    const list = valueAt(site.body, 'properties.list');
    expect(list?.kind === 'array' && list.items.length).toBe(2);
    expect(sourceOf(valueAt(site.body, 'properties.ternary'))).toBe("enabled ? 'Allow' : 'Deny'");
    expect(stringAt(site.body, 'properties.odata.type')).toBeUndefined();
    expect(valueAt(site.body, 'properties')?.kind).toBe('object');
  });

  it('reads existing, conditional and looped resources, modules, vars and outputs', () => {
    const file = parseBicep(`
targetScope = 'resourceGroup'
var roles = {
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
}
var query = '''
traces
| where x == "y"
'''
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageName
}
resource maybe 'Microsoft.Insights/actionGroups@2023-01-01' = if (enableAlerts) {
  name: 'ag'
}
resource many 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for id in ids: {
  name: guid(id)
  scope: storage
}]
module child 'modules/child.bicep' = {
  name: 'child'
  params: {
    value: roles.reader
  }
}
output storageId string = storage.id
`);
    expect(file.targetScope).toBe('resourceGroup');
    expect(stringAt(file.vars[0].value, 'reader')).toBe('acdd72a7-3385-48ef-bd42-f606fba81ae7');
    expect(file.vars[1].value).toEqual({ kind: 'string', value: 'traces\n| where x == "y"\n' });
    expect(
      file.resources.map((resource) => [resource.symbol, resource.existing, resource.condition]),
    ).toEqual([
      ['storage', true, undefined],
      ['maybe', false, 'enableAlerts'],
      ['many', false, undefined],
    ]);
    expect(file.resources[2].body).toMatchObject({ kind: 'for', header: 'id in ids' });
    expect(sourceOf(valueAt(file.resources[2].body, 'scope'))).toBe('storage');
    expect(file.modules).toEqual([expect.objectContaining({ symbol: 'child', path: 'modules/child.bicep' })]);
    expect(sourceOf(valueAt(file.modules[0].body, 'params.value'))).toBe('roles.reader');
    expect(file.outputs).toEqual([
      { name: 'storageId', type: 'string', value: { kind: 'expression', raw: 'storage.id' } },
    ]);
  });

  it('reads resources declared inside a resource body as children of it', () => {
    const file = parseBicep(`
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'kv'
  resource secret 'secrets' existing = {
    name: 'ra'
  }
}
`);
    expect(file.resources.map((resource) => [resource.symbol, resource.type, resource.enclosing])).toEqual([
      ['vault', 'Microsoft.KeyVault/vaults', undefined],
      ['secret', 'Microsoft.KeyVault/vaults/secrets', 'vault'],
    ]);
  });

  it('decodes string escapes and keeps interpolation parts', () => {
    const file = parseBicep(`var text = 'it\\'s \\\${literal} \\u{41} \${a}-\${b.c}'`);
    expect(file.vars[0].value).toEqual({
      kind: 'interpolated',
      raw: "'it\\'s \\${literal} \\u{41} ${a}-${b.c}'",
      literalParts: ["it's ${literal} A ", '-', ''],
      expressions: ['a', 'b.c'],
    });
  });

  it('rejects broken input with the line it stopped at', () => {
    expect(() => parseBicep("resource x 'T@1' = {\n  a: {\n")).toThrow(/unterminated object|unbalanced/);
    expect(() => parseBicep("var s = 'open\n")).toThrow(/unterminated string \(line 1\)/);
    expect(() => parseBicep('banana x')).toThrow(/unexpected "banana" at top level \(line 1\)/);
  });
});
