/**
 * The real parts the benchmarks run against, in-process: a dev PKI in a temporary folder, the PKI-WS simulator
 * over mutual TLS on 127.0.0.1, the broker's settings and its cached RA credential source (as in production,
 * shared/broker.ts), and material captured once from the simulator (a getPoliciesResponse as sent on the
 * wire, an issued token with its key) for the offline groups.
 */
import { startAzurite, type RunningAzurite } from '../dev/host/azurite';
import { createRequestLedger } from '../shared/ledger/tableLedger';
import type { RequestLedger } from '../shared/ledger/types';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { ensureDevPki, type DevPki } from '../dev/pki/devPki';
import { startPkiWsSimulator, type Simulator } from '../dev/simulator/server';
import { readSettings, type BrokerSettings } from '../shared/config/settings';
import type { PkcsRequest } from '../shared/contract/types';
import { parseRequestMessage } from '../shared/contract/validate';
import { createCsr, generateKeyPair, parseIssuedToken, type KeyPair } from '../shared/crypto';
import {
  buildGetPoliciesEnvelope,
  PkiWsClient,
  SOAP_ACTIONS,
  type EnrollmentResponse,
  type ProfilePolicy,
} from '../shared/digicert';
import { planEnrollment } from '../shared/mapping';
import type { EnrollmentPlan } from '../shared/mapping/types';
import { createRaCredentialSource } from '../shared/ra-credential';
import type { RaCredentialSource } from '../shared/ra-credential/types';

/** The simulator's "Contoso Intune User" profile: subject CN/E/O, SAN e-mail + UPN + GUID otherName, seat. */
export const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const GUID_OID = '1.3.6.1.4.1.311.25.1';

export interface IssuedMaterial {
  request: PkcsRequest;
  policy: ProfilePolicy;
  plan: EnrollmentPlan;
  keys: KeyPair;
  /** The CA's answer as the client read it (PKCS#7 token). */
  response: EnrollmentResponse;
  leafPem: string;
  chainPem: string[];
}

export interface BenchFixture {
  pki: DevPki;
  simulator: Simulator;
  settings: BrokerSettings;
  /** One RA credential source for every client: loading the RA PFX is not what the groups compare. */
  credential: RaCredentialSource;
  /** The client the broker process keeps for its lifetime (connections and policy cache reused). */
  client: PkiWsClient;
  /** A client of its own: its first call opens a new connection (full TLS handshake). */
  newClient(): PkiWsClient;
  /** The request ledger, on an Azurite started for the bench (the pipeline records every request). */
  ledger: RequestLedger;
  /** A request message like Intune's, a new requestId each call. */
  requestMessage(): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startFixture(): Promise<BenchFixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-bench-'));
  const clients = new Set<PkiWsClient>();
  let simulator: Simulator | undefined;
  let azurite: RunningAzurite | undefined;
  const close = async (): Promise<void> => {
    await Promise.all([...clients].map((client) => client.close()));
    await simulator?.close();
    await azurite?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = await ensureDevPki(path.join(dir, 'pki'));
    simulator = await startPkiWsSimulator({ pki });
    azurite = await startAzurite();
    const ledger = createRequestLedger(azurite.connectionString);
    const started = simulator;
    const settings = readSettings({
      CA_ALLOWED_HOSTS: started.authority,
      RA_CERTIFICATE_PFX_FILE: pki.ra.pfxPath,
      RA_CERTIFICATE_PFX_PASSWORD: pki.ra.pfxPassword,
      // One attempt: a failure surfaces as an error instead of hiding in a retried, slower sample.
      CA_MAX_ATTEMPTS: '1',
    });
    const credential = createRaCredentialSource(settings);
    const newClient = (): PkiWsClient => {
      const client = new PkiWsClient({ settings, credential, extraTrustedCaPem: [pki.tlsRootCa.certPem] });
      // Closed again at the end in case a group did not (closing twice is harmless).
      clients.add(client);
      return client;
    };
    let counter = 0;
    const requestMessage = (): Record<string, unknown> => {
      counter += 1;
      return {
        schemaVersion: 1,
        requestId: `bench-${counter}-${randomUUID()}`,
        certificateAuthority: started.authority,
        certificateAuthorityName: 'Symantec',
        certificateTemplateName: USER_PROFILE,
        subjectName: `CN=IWUser${counter},E=IWUser${counter}@contoso.onmicrosoft.com`,
        subjectAlternativeNames: [
          { type: 'AltNameTypeEmail', value: `IWUser${counter}@contoso.onmicrosoft.com` },
          { type: 'AltNameTypeUpn', value: `IWUser${counter}.upn@contoso.onmicrosoft.com` },
          {
            type: 'AltNameTypeOtherName',
            oid: GUID_OID,
            value: '04 10 b8 ba 65 41 f2 d4 07 41 a9 f7 47 08 f3 e4 28 5c',
          },
        ],
        recipientCertificate: pki.recipient.certPem,
        context: { deviceId: `device-${counter}` },
      };
    };
    return {
      pki,
      simulator: started,
      settings,
      credential,
      client: newClient(),
      newClient,
      ledger,
      requestMessage,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * The simulator's getPoliciesResponse for `profileOid` exactly as it comes over the wire (the SOAP text the
 * client would parse), fetched once with the RA certificate.
 */
export async function captureGetPoliciesXml(fixture: BenchFixture, profileOid: string): Promise<string> {
  const agent = new Agent({
    connect: {
      key: fixture.pki.ra.keyPem,
      cert: fixture.pki.ra.certPem,
      ca: [fixture.pki.tlsRootCa.certPem],
    },
  });
  try {
    const response = await request(fixture.simulator.serviceUrl('policyService'), {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'text/xml; charset=utf-8',
        soapaction: `"${SOAP_ACTIONS.getPolicies}"`,
      },
      body: buildGetPoliciesEnvelope(profileOid, randomUUID()),
    });
    const xml = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(`the simulator answered getPolicies with HTTP ${response.statusCode}`);
    }
    return xml;
  } finally {
    await agent.close();
  }
}

/** One enrollment the way the pipeline makes it, kept for the offline groups (PFX, token parsing). */
export async function enrollOnce(fixture: BenchFixture): Promise<IssuedMaterial> {
  const authority = fixture.simulator.authority;
  const request = parseRequestMessage(fixture.requestMessage(), {
    caAllowedHosts: fixture.settings.caAllowedHosts,
  });
  const policy = await fixture.client.getPolicy(authority, USER_PROFILE);
  const plan = planEnrollment(request, policy, { fieldMap: fixture.settings.profileFieldMap });
  const keys = await generateKeyPair(2048);
  const response = await fixture.client.enroll(authority, {
    profileOid: USER_PROFILE,
    clientTransactionId: randomUUID(),
    csrDer: createCsr(plan, keys),
    nameValuePairs: plan.nameValuePairs,
  });
  const { leafPem, chainPem } = parseIssuedToken(response, keys.publicKey);
  return { request, policy, plan, keys, response, leafPem, chainPem };
}
