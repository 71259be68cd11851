/**
 * Secret hygiene, end to end: the host as its own process on Azurite against the PKI-WS simulator, with
 * telemetry going to the ingestion stand-in. A run issues certificates (one whose enrollment answer is lost
 * and is reconciled, one with a SID), fails a request whose address carries a bidi control, revokes a
 * certificate and fails a revocation. Then everything the run left behind is searched for the run's own
 * secrets in every spelling (as text, base64, base64url, hex): the PFX passwords (decrypted with the
 * recipient key), each issued PFX's private key (the PFX opened with its password), the RA private key, the
 * RA PFX's password and the request-signing key (every message is signed; one forged request is refused).
 *
 * What is allowed where:
 * - host log (every line of every function, and what the host logs of a failed delivery): no secret, no
 *   private key, and none of the requests' personal values (addresses, UPNs, names, SID): only their
 *   pseudonyms, since TELEMETRY_INCLUDE_PERSONAL_DATA is off;
 * - telemetry (every item sent to the ingestion endpoint, byte for byte): the same;
 * - ledger (every entity of every table in the storage account): no secret and no private key; the stored
 *   result carries the PFX (its key encrypted under the PFX password) and the PFX password encrypted to the
 *   recipient, exactly as the result queue got them, and the personal values the result names (its
 *   certificate, an error naming the field): it is the result kept for replay.
 */
import { createTableClient, createTableServiceClient } from '../../shared/storage/clients';
import { constants, createPrivateKey, privateDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { startAzurite, type RunningAzurite } from '../../dev/host/azurite';
import { submitAndWait } from '../../dev/host/submit';
import type { KeyVaultStandIn } from '../../dev/keyvault-standin/server';
import { signMessage, type SigningKey } from '../../shared/guardrails/requestSignature';
import { startKeyVaultStandInWithDevTls } from '../support/identityStack';
import type { DevPki } from '../../dev/pki/devPki';
import type { Simulator } from '../../dev/simulator/server';
import type { IssuedResult, PkcsResult, RevocationResult } from '../../shared/contract/types';
import { logSafe } from '../../shared/telemetry/logText';
import { logLineFor } from '../../shared/telemetry/logRedaction';
import { startDevSimulator, type DevSimulator } from '../support/devSimulator';
import { devHostSettings, startHostProcess, type HostProcess } from '../support/hostProcess';
import { startIngestionStandIn, type IngestionStandIn } from '../support/ingestion';
import { revokeThroughQueue } from '../support/revocationQueue';

const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
const SID_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
const SID = 'S-1-5-21-1004336348-1177238915-682003330-1105';
const HOSTILE_MAIL = 'h04\u202E@hygiene.contoso.com';
const queues = {
  requestQueue: 'hygiene-requests',
  resultQueue: 'hygiene-results',
  revokeQueue: 'hygiene-revocations',
  revokeResultQueue: 'hygiene-revocation-results',
};

let devSimulator: DevSimulator;
let pki: DevPki;
let azurite: RunningAzurite;
let simulator: Simulator;
let ingestion: IngestionStandIn;
let host: HostProcess;
let counter = 0;

/** The run's personal values: none may reach logs or telemetry in clear text. */
const personalValues: string[] = [SID, HOSTILE_MAIL];
const issued: IssuedResult[] = [];
const failed: PkcsResult[] = [];
const revocations: RevocationResult[] = [];

function request(mail: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter += 1;
  const name = `Hygiene Person${counter}`;
  const upn = `upn.person${counter}@hygiene.contoso.com`;
  personalValues.push(mail, upn, name);
  return {
    schemaVersion: 1,
    requestId: `hygiene-${counter}-${Date.now()}`,
    certificateAuthority: simulator.authority,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: USER_PROFILE,
    subjectName: `CN=${name},E=${mail}`,
    subjectAlternativeNames: [
      { type: 'AltNameTypeEmail', value: mail },
      { type: 'AltNameTypeUpn', value: upn },
    ],
    recipientCertificate: pki.recipient.certPem,
    ...overrides,
  };
}

function submit(body: Record<string, unknown>, key = signingKey): Promise<PkcsResult> {
  return submitAndWait(signMessage(body, key, new Date()), {
    storage: azurite.connectionString,
    ...queues,
    timeoutMs: 60_000,
  });
}

function revoke(message: Record<string, unknown>): Promise<RevocationResult> {
  const signed = signMessage({ schemaVersion: 1, ...message }, signingKey, new Date());
  return revokeThroughQueue({ storage: azurite.connectionString, ...queues }, signed);
}

/** Every entity of every table in the account, as JSON (the ledger and whatever else the broker stores). */
async function everyStoredEntity(): Promise<string[]> {
  const service = createTableServiceClient({
    kind: 'connectionString',
    connectionString: azurite.connectionString,
  });
  const entities: string[] = [];
  for await (const table of service.listTables()) {
    const client = createTableClient(
      { kind: 'connectionString', connectionString: azurite.connectionString },
      table.name!,
    );
    for await (const entity of client.listEntities()) entities.push(JSON.stringify(entity));
  }
  return entities;
}

function pfxPassword(result: IssuedResult): string {
  return privateDecrypt(
    { key: pki.recipient.keyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    Buffer.from(result.pfx.password.encryptedValue, 'base64'),
  ).toString('utf8');
}

function pfxPrivateKey(result: IssuedResult, password: string): KeyObject {
  const p12 = forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(result.pfx.data, 'base64').toString('binary'))),
    password,
  );
  const bagType = forge.pki.oids.pkcs8ShroudedKeyBag!;
  const key = p12.getBags({ bagType })[bagType]?.[0]?.key;
  if (key === undefined) throw new Error(`the PFX of ${String(result.requestId)} holds no key`);
  const pkcs1 = forge.asn1.toDer(forge.pki.privateKeyToAsn1(key)).getBytes();
  return createPrivateKey({ key: Buffer.from(pkcs1, 'binary'), format: 'der', type: 'pkcs1' });
}

/** A secret's bytes as text may carry them. */
function spellingsOfBytes(bytes: Buffer): string[] {
  const hex = bytes.toString('hex');
  return [bytes.toString('base64'), bytes.toString('base64url'), hex, hex.toUpperCase()];
}

/**
 * A private key in every form it could leak in: PKCS#8 and PKCS#1 DER, each private component (d, p, q and
 * the CRT values) alone, and the PEM lines past the public modulus (a PEM logged as text).
 */
function spellingsOfKey(key: KeyObject): string[] {
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const pkcs1 = key.export({ type: 'pkcs1', format: 'der' });
  const jwk = key.export({ format: 'jwk' });
  const components = [jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map((value) =>
    Buffer.from(String(value), 'base64url'),
  );
  const pemLines = (key.export({ type: 'pkcs8', format: 'pem' }) as string)
    .split('\n')
    .filter((line) => line.length === 64)
    .slice(6);
  return [...[pkcs8, pkcs1, ...components].flatMap(spellingsOfBytes), ...pemLines];
}

/** A password as text, its UTF-8 bytes in other encodings, and (base64url ones) the random bytes it encodes. */
function spellingsOfPassword(password: string): string[] {
  const decoded = /^[A-Za-z0-9_-]+$/.test(password) ? [Buffer.from(password, 'base64url')] : [];
  return [password, ...[Buffer.from(password, 'utf8'), ...decoded].flatMap(spellingsOfBytes)];
}

interface Secret {
  name: string;
  spellings: string[];
}

function leaksIn(place: string, text: string, secrets: readonly Secret[]): string[] {
  return secrets.flatMap((secret) =>
    [...new Set(secret.spellings)]
      .filter((spelling) => text.includes(spelling))
      .map((spelling) => `${secret.name} (${spelling.slice(0, 12)}…) in ${place}`),
  );
}

let storedEntities: string[];
let hostileRequest: Record<string, unknown>;
let secrets: Secret[];
let vault: KeyVaultStandIn;
let signingKey: SigningKey;
const SIGNING_SECRET = 'hygiene-request-signing';

beforeAll(async () => {
  devSimulator = await startDevSimulator('e2e-hygiene-');
  ({ pki, simulator } = devSimulator);
  azurite = await startAzurite();
  ingestion = await startIngestionStandIn();
  const hostTrustPath = path.join(devSimulator.dir, 'host-trust.pem');
  writeFileSync(hostTrustPath, pki.tlsRootCa.certPem + ingestion.caPem);
  vault = await startKeyVaultStandInWithDevTls(pki);
  const keyBytes = randomBytes(32);
  signingKey = { keyId: vault.putSecret(SIGNING_SECRET, keyBytes.toString('base64')).version, key: keyBytes };
  host = startHostProcess({
    ...devHostSettings(pki, simulator.authority, queues),
    ...vault.identityEnvironment,
    KEY_VAULT_URL: vault.url,
    REQUEST_SIGNING_SECRET_NAME: SIGNING_SECRET,
    AzureWebJobsStorage: azurite.connectionString,
    RA_CERT_THUMBPRINT: pki.ra.thumbprint,
    CA_MAX_ATTEMPTS: '1',
    QUEUE_MAX_DEQUEUE_COUNT: '3',
    REQUEST_MAX_WAIT_MINUTES: '0',
    CA_RETRY_BASE_DELAY_MS: '50',
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1',
    APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString,
    NODE_EXTRA_CA_CERTS: hostTrustPath,
  });

  const plain = await submit(request('hygiene.plain@hygiene.contoso.com'));
  // The enrollment's answer is lost after the CA issued: reconciliation finds the certificate and uses it.
  simulator.faults.enqueue({ kind: 'reset', after: 'processing', service: 'enrollmentService' });
  const lost = await submit(request('hygiene.lost@hygiene.contoso.com'));
  const withSid = await submit(
    request('hygiene.sid@hygiene.contoso.com', {
      certificateTemplateName: SID_PROFILE,
      securityIdentifier: SID,
    }),
  );
  for (const result of [plain, lost, withSid]) {
    if (result.status !== 'issued') throw new Error(`expected issued: ${JSON.stringify(result)}`);
    issued.push(result);
  }
  hostileRequest = request(HOSTILE_MAIL, {
    subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: HOSTILE_MAIL }],
  });
  failed.push(await submit(hostileRequest));
  // Signed with another key: refused before anything is recorded.
  failed.push(
    await submit(request('hygiene.forged@hygiene.contoso.com'), { ...signingKey, key: randomBytes(32) }),
  );
  revocations.push(
    await revoke({ revocationId: `hygiene-revoke-${Date.now()}`, requestId: plain.requestId }),
    await revoke({
      revocationId: `hygiene-unknown-${Date.now()}`,
      requestId: 'hygiene-no-such-request',
      comment: 'left the company: hygiene.comment@hygiene.contoso.com',
    }),
  );
  personalValues.push('hygiene.comment@hygiene.contoso.com');
  // Telemetry is flushed after each invocation; give the last one's items the time to arrive.
  for (
    let waited = 0;
    waited < 10_000 && !ingestion.bodies.join('').includes('hygiene-unknown-');
    waited += 200
  )
    await new Promise((resolve) => setTimeout(resolve, 200));
  storedEntities = await everyStoredEntity();

  const raPfxPassword = pki.ra.pfxPassword;
  secrets = [
    ...issued.flatMap((result) => {
      const password = pfxPassword(result);
      return [
        { name: `PFX password of ${String(result.requestId)}`, spellings: spellingsOfPassword(password) },
        {
          name: `private key of ${String(result.requestId)}`,
          spellings: spellingsOfKey(pfxPrivateKey(result, password)),
        },
      ];
    }),
    { name: 'RA private key', spellings: spellingsOfKey(createPrivateKey(pki.ra.keyPem)) },
    { name: 'RA PFX password', spellings: spellingsOfPassword(raPfxPassword) },
    { name: 'RA PFX', spellings: spellingsOfBytes(readFileSync(pki.ra.pfxPath)).slice(0, 2) },
    { name: 'request-signing key', spellings: spellingsOfBytes(signingKey.key) },
  ];
}, 240_000);

afterAll(async () => {
  await host?.stop();
  await ingestion?.close();
  await vault?.close();
  await azurite?.stop();
  await devSimulator?.close();
});

describe('secret hygiene of a whole run', () => {
  it('ran what it meant to: three issued (one reconciled), one invalid, one forged, one revoked, one refused revocation', () => {
    expect(issued).toHaveLength(3);
    expect(failed.map((result) => result.status === 'failed' && result.error.code)).toEqual([
      'INVALID_REQUEST',
      'REQUEST_NOT_ALLOWED',
    ]);
    expect(revocations.map((result) => result.status)).toEqual(['revoked', 'failed']);
    expect(host.log).toMatch(/hygiene-2-\d+: issued serial/);
    expect(simulator.faults.pending).toEqual([]);
    expect(ingestion.bodies.join('\n')).toContain('used-issued-certificate');
    expect(ingestion.envelopes.length).toBeGreaterThan(0);
    expect(storedEntities.length).toBeGreaterThanOrEqual(5);
  });

  it('would find a secret: the RA key file as PEM, a PFX password in a sentence, a key as hex', () => {
    const [password, key] = secrets;
    expect(leaksIn('a log', pki.ra.keyPem, secrets)).not.toEqual([]);
    expect(leaksIn('a log', `the password is ${password!.spellings[0]!}.`, secrets)).toHaveLength(1);
    expect(leaksIn('a log', `d=${key!.spellings[8]!}`, secrets).length).toBeGreaterThan(0);
  });

  it('no PFX password, issued private key, RA key, RA password or signing key in logs, telemetry or the ledger', () => {
    const places: [string, string][] = [
      ['the host log', host.log],
      ['telemetry', ingestion.bodies.join('\n')],
      ['the ledger', storedEntities.join('\n')],
    ];
    expect(places.flatMap(([place, text]) => leaksIn(place, text, secrets))).toEqual([]);
    for (const [, text] of places) expect(text).not.toMatch(/PRIVATE KEY/);
  });

  it('the ledger keeps the result as published: the PFX and its password encrypted to the recipient', () => {
    const ledger = storedEntities.join('\n');
    for (const result of issued) {
      expect(ledger).toContain(result.pfx.password.encryptedValue);
      expect(ledger).toContain(result.pfx.data.slice(0, 200));
    }
  });

  it('no personal value in clear text in logs or telemetry: only the pseudonyms telemetry uses', () => {
    const places: [string, string][] = [
      ['the host log', host.log.toLowerCase()],
      ['telemetry', ingestion.bodies.join('\n').toLowerCase()],
    ];
    const found = places.flatMap(([place, text]) =>
      personalValues
        .filter((value) => [value, logSafe(value)].some((form) => text.includes(form.toLowerCase())))
        .map((value) => `${JSON.stringify(value)} in ${place}`),
    );
    expect(found).toEqual([]);
    // Validation names the field and the code point, never the value (so the result does not carry the
    // hostile address either), and the failed request's log line is the redacted one.
    const failure = failed[0]!;
    if (failure.status !== 'failed') throw new Error('expected the hostile request to fail');
    expect(failure.error.message).toMatch(/subjectAlternativeNames\[0\]\.value contains .* U\+202E/);
    expect(failure.error.message).not.toContain('h04');
    const line = logLineFor(hostileRequest, { includePersonalData: false })(
      `request ${String(failure.requestId)}: failed ${failure.error.code}: ${failure.error.message}`,
    );
    expect(host.log).toContain(`[warning] issuePkcsCertificate: ${line}\n`);
    expect(host.log).not.toContain('h04');
    expect(host.log).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/u);
  });
});
