/**
 * What an anonymous caller learns from the Function App: nothing. Every HTTP function needs a key (the host
 * answers 401 before any handler runs, so the health report with its thumbprints, hosts and expiry dates
 * reaches key holders only), and the host's default page, which names the runtime and its version, is off.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../support/teamShared';
import { Infra, loadInfraSources } from '../../support/infra/infra';

describe('anonymous access', () => {
  it('every HTTP function needs a function or admin key', () => {
    const functionsDir = path.join(REPO_ROOT, 'functions');
    const registrations = readdirSync(functionsDir)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => {
        const text = readFileSync(path.join(functionsDir, name), 'utf8');
        return [...text.matchAll(/app\.http\([^;]*?\)\s*;/gs)].map((match) => ({ name, call: match[0] }));
      });
    expect(registrations.map((registration) => registration.name)).toEqual(['health.ts']);
    for (const { call } of registrations) expect(call).toMatch(/authLevel:\s*'(?:function|admin)'/);
  });

  it('the Function App turns the host’s default page off', () => {
    const infra = new Infra(loadInfraSources(REPO_ROOT));
    const site = infra.resources('Microsoft.Web/sites')[0];
    expect(site).toBeDefined();
    expect(infra.siteAppSettings(site!).get('AzureWebJobsDisableHomepage')?.value).toMatchObject({
      value: 'true',
    });
  });
});
