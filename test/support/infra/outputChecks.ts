/** Checks of main.bicep's outputs and the modules it uses. */
import { keysOf, valueAt, type BicepValue } from './bicepModel';
import { Infra } from './infra';

export const REQUIRED_OUTPUTS: readonly string[] = [
  'functionAppName',
  'keyVaultUri',
  'functionAppPrincipalId',
  'storageAccountName',
  'applicationInsightsName',
];

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
