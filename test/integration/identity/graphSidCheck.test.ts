/**
 * The SID ownership check (SID_VERIFY_WITH_GRAPH) against the Graph stand-in over HTTPS, with a token from the
 * real DefaultAzureCredential through the Key Vault stand-in's managed-identity endpoint (IDENTITY_ENDPOINT, as
 * Azure Functions sets it); then through the whole pipeline with the PKI-WS simulator's SID profile.
 *
 * Trust: jest runs in-process, where NODE_EXTRA_CA_CERTS cannot be set any more, so the check gets the dev TLS
 * root through its test-only `trustedCaPemForTests`.
 */
import { randomUUID } from 'node:crypto';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import { startGraphStandIn, type GraphStandIn } from '../../../dev/graph-standin/server';
import { GRAPH_RESOURCE, type KeyVaultStandIn } from '../../../dev/keyvault-standin/server';
import type { DevPki } from '../../../dev/pki/devPki';
import type { Simulator } from '../../../dev/simulator/server';
import { readSettings } from '../../../shared/config/settings';
import type { PkcsResult } from '../../../shared/contract/types';
import { GraphSidOwnershipCheck, type GraphSidCheckOptions } from '../../../shared/identity/graphSidCheck';
import { createRequestLedger } from '../../../shared/ledger/tableLedger';
import type { RequestLedger } from '../../../shared/ledger/types';
import type { ResolvedAddress } from '../../../shared/mapping';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import { graphCallObserver } from '../../../shared/telemetry/observers';
import { failureOf } from '../../support/brokerErrors';
import { devCaClient, startDevSimulator, type DevSimulator } from '../../support/devSimulator';
import { startKeyVaultStandInWithDevTls, useManagedIdentityOf } from '../../support/identityStack';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

const SID_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
const SID = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const OTHER_SID = 'S-1-5-21-3623811015-3361044348-30300820-1014';
const USER = 'IWUser0@contoso.onmicrosoft.com';
const CLOUD_USER = 'CloudOnly@contoso.onmicrosoft.com';
const UPN_FIELD = 'subjectAlternativeNames[1].value';

let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let azurite: RunningAzurite;
let ledger: RequestLedger;
let vault: KeyVaultStandIn;
let graph: GraphStandIn;
let restoreEnvironment: () => void;
let telemetry: RecordingTelemetry;
const checks: GraphSidOwnershipCheck[] = [];

/** A check with the real DefaultAzureCredential (unless `credential` is given), trusting the dev TLS root. */
function graphCheck(options: Partial<GraphSidCheckOptions> = {}): GraphSidOwnershipCheck {
  const check = new GraphSidOwnershipCheck({
    baseUrl: graph.url,
    trustedCaPemForTests: pki.tlsRootCa.certPem,
    timeoutMs: 5000,
    onCall: graphCallObserver(telemetry),
    ...options,
  });
  checks.push(check);
  return check;
}

const upn = (value: string): ResolvedAddress => ({ value, origin: 'AltNameTypeUpn', field: UPN_FIELD });

beforeAll(async () => {
  devSimulator = await startDevSimulator('graph-sid-');
  ({ pki, simulator } = devSimulator);
  azurite = await startAzurite();
  ledger = createRequestLedger(azurite.connectionString);
  vault = await startKeyVaultStandInWithDevTls(pki);
  // Before the first DefaultAzureCredential is made: msal reads IDENTITY_ENDPOINT once per process.
  restoreEnvironment = useManagedIdentityOf(vault);
  graph = await startGraphStandIn({
    tls: { certPem: pki.keyVaultTls.certPem, keyPem: pki.keyVaultTls.keyPem },
    audienceOf: (token) => vault.audienceOf(token),
  });
  graph.putUser(USER, { onPremisesSecurityIdentifier: SID });
  graph.putUser(CLOUD_USER, { onPremisesSecurityIdentifier: null });
});

afterAll(async () => {
  restoreEnvironment?.();
  await Promise.all(checks.map((check) => check.close()));
  await graph?.close();
  await vault?.close();
  await azurite?.stop();
  await devSimulator?.close();
});

beforeEach(() => {
  telemetry = new RecordingTelemetry();
  graph.setPermissionGranted(true);
});

describe('GraphSidOwnershipCheck against the Graph stand-in', () => {
  it('confirms the SID of the user with a managed-identity token for Graph, reporting a dependency', async () => {
    const before = graph.requests.length;
    await graphCheck().verify(upn(USER.toUpperCase()), SID.toLowerCase());

    const asked = graph.requests.slice(before);
    expect(asked).toEqual([
      {
        method: 'GET',
        path: `/v1.0/users/${encodeURIComponent(USER.toUpperCase())}`,
        select: 'onPremisesSecurityIdentifier',
        authorization: 'graph',
        status: 200,
      },
    ]);
    expect(vault.tokenRequests).toContainEqual(
      expect.objectContaining({ resource: GRAPH_RESOURCE, identityHeaderValid: true, status: 200 }),
    );
    expect(telemetry.dependencies).toEqual([
      expect.objectContaining({
        target: new URL(graph.url).host,
        name: 'Graph getUser',
        type: 'Microsoft Graph',
        success: true,
        resultCode: '200',
      }),
    ]);
    // Nothing personal in telemetry.
    expect(JSON.stringify(telemetry.dependencies)).not.toMatch(/IWUser0|S-1-5/i);
  });

  it.each([
    ['another SID', USER, OTHER_SID, /is not the on-premises SID of the account/],
    [
      'an unknown user',
      'nobody@contoso.onmicrosoft.com',
      SID,
      /has no user with the UPN in .*404 Request_ResourceNotFound/,
    ],
    ['a user without an on-premises SID', CLOUD_USER, SID, /has no onPremisesSecurityIdentifier/],
  ])('refuses %s with REQUEST_NOT_ALLOWED', async (_name, account, sid, message) => {
    const error = await failureOf(graphCheck().verify(upn(account), sid));
    expect(error).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: false });
    expect(error.message).toMatch(message);
    expect(error.message).toContain(UPN_FIELD);
    expect(`${error.message} ${error.remedy}`).not.toMatch(/S-1-5|@contoso/i);
  });

  it('refuses for good when the identity lacks User.Read.All (403), naming the permission', async () => {
    graph.setPermissionGranted(false);
    const error = await failureOf(graphCheck().verify(upn(USER), SID));
    expect(error).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: false });
    expect(error.message).toMatch(/403 Authorization_RequestDenied.*User\.Read\.All/);
    expect(error.remedy).toMatch(/User\.Read\.All/);
  });

  it('is refused with a token for another audience (the stand-in checks it)', async () => {
    const keyVaultToken = { getToken: () => vault.credential.getToken('https://vault.azure.net/.default') };
    const error = await failureOf(graphCheck({ credential: keyVaultToken }).verify(upn(USER), SID));
    expect(error.message).toMatch(/401 InvalidAuthenticationToken/);
    expect(graph.requests.at(-1)).toMatchObject({ authorization: 'other-audience', status: 401 });
  });

  it('has the request wait when Graph answers 503 or cannot be reached', async () => {
    graph.failNext(503);
    const busy = await failureOf(graphCheck().verify(upn(USER), SID));
    expect(busy).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: true });
    expect(busy.message).toMatch(/Microsoft Graph is unavailable \(503/);
    expect(telemetry.dependencies.at(-1)).toMatchObject({ success: false, resultCode: '503' });

    const closed = await startGraphStandIn({ tls: pki.keyVaultTls, audienceOf: () => undefined });
    await closed.close();
    const unreachable = await failureOf(graphCheck({ baseUrl: closed.url }).verify(upn(USER), SID));
    expect(unreachable).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: true });
    expect(unreachable.message).toMatch(/unavailable \(ECONNREFUSED/);
  });
});

describe('the pipeline with SID_VERIFY_WITH_GRAPH', () => {
  function pipeline(env: Record<string, string>): CertificatePipeline {
    const settings = readSettings({
      CA_ALLOWED_HOSTS: simulator.authority,
      CA_RETRY_BASE_DELAY_MS: '0',
      GRAPH_BASE_URL: graph.url,
      ...env,
    });
    // The check is always handed over: only the setting decides whether it runs.
    return new CertificatePipeline({
      settings,
      ca: devCaClient(pki, settings),
      ledger,
      telemetry,
      sidOwnership: graphCheck(),
    });
  }
  const checking = () => pipeline({ SID_VERIFY_WITH_GRAPH: 'true' });

  function sidRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      schemaVersion: 1,
      requestId: `graph-${randomUUID()}`,
      certificateAuthority: simulator.authority,
      certificateAuthorityName: 'Symantec',
      certificateTemplateName: SID_PROFILE,
      subjectName: `CN=IWUser0,E=${USER}`,
      subjectAlternativeNames: [
        { type: 'AltNameTypeEmail', value: USER },
        { type: 'AltNameTypeUpn', value: USER },
      ],
      securityIdentifier: SID,
      recipientCertificate: pki.recipient.certPem,
      ...overrides,
    };
  }

  function resultOf(outcome: PipelineOutcome): PkcsResult {
    if (outcome.kind !== 'result')
      throw new Error(`expected a result, got ${outcome.kind}: ${outcome.error.message}`);
    return outcome.result;
  }

  const enrollments = (): number =>
    simulator.received.filter((r) => r.service === 'enrollmentService').length;

  it('issues the certificate when Graph confirms the SID', async () => {
    const before = graph.requests.length;
    const result = resultOf(await checking().process(sidRequest(), { dequeueCount: 1 }));
    expect(result).toMatchObject({ status: 'issued' });
    expect(graph.requests.length).toBe(before + 1);
  });

  it.each([
    ['a SID of another account', { securityIdentifier: OTHER_SID }, /is not the on-premises SID/],
    [
      'an account Graph does not know',
      {
        subjectName: 'CN=Ghost',
        subjectAlternativeNames: [{ type: 'AltNameTypeUpn', value: 'ghost@contoso.onmicrosoft.com' }],
      },
      /has no user/,
    ],
  ])('refuses %s with REQUEST_NOT_ALLOWED, enrolling nothing', async (_name, overrides, message) => {
    const enrolled = enrollments();
    const result = resultOf(await checking().process(sidRequest(overrides), { dequeueCount: 1 }));
    if (result.status !== 'failed') throw new Error('expected a failed result');
    expect(result.error).toMatchObject({ code: 'REQUEST_NOT_ALLOWED', retryable: false });
    expect(result.error.message).toMatch(message);
    expect(result.error.message).toMatch(/securityIdentifier.*SID_VERIFY_WITH_GRAPH/);
    expect(result.error.remedy).toMatch(/SID_VERIFY_WITH_GRAPH/);
    expect(enrollments()).toBe(enrolled);
    expect(telemetry.events.at(-1)).toMatchObject({ outcome: 'failed', errorCode: 'REQUEST_NOT_ALLOWED' });
  });

  it('retries while Graph answers 503, and gives up naming Graph when the deliveries are used up', async () => {
    const pipelineNoWait = pipeline({ SID_VERIFY_WITH_GRAPH: 'true', REQUEST_MAX_WAIT_MINUTES: '0' });
    const message = sidRequest();
    const enrolled = enrollments();
    graph.failNext(503, 2);
    const first = await pipelineNoWait.process(message, { dequeueCount: 1 });
    expect(first).toMatchObject({ kind: 'retry', error: { code: 'REQUEST_NOT_ALLOWED', retryable: true } });

    const last = resultOf(await pipelineNoWait.process(message, { dequeueCount: 5 }));
    if (last.status !== 'failed') throw new Error('expected a failed result');
    expect(last.error.code).toBe('GAVE_UP');
    expect(last.error.message).toMatch(
      /last error was REQUEST_NOT_ALLOWED: .*Microsoft Graph is unavailable \(503/,
    );
    expect(enrollments()).toBe(enrolled);
  });

  it('never asks Graph when the check is off (the default), even for a SID of another account', async () => {
    const before = graph.requests.length;
    const result = resultOf(
      await pipeline({}).process(sidRequest({ securityIdentifier: OTHER_SID }), { dequeueCount: 1 }),
    );
    expect(result).toMatchObject({ status: 'issued' });
    expect(graph.requests.length).toBe(before);
  });

  it('does not ask Graph for a request without a SID', async () => {
    const before = graph.requests.length;
    const request = sidRequest({ certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109' });
    delete request.securityIdentifier;
    const result = resultOf(await checking().process(request, { dequeueCount: 1 }));
    expect(result).toMatchObject({ status: 'issued' });
    expect(graph.requests.length).toBe(before);
  });
});
