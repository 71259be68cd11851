/**
 * RA credential rotation end to end, without a restart: the real KeyVaultRaCredentialSource (against the Key
 * Vault stand-in, over HTTPS with bearer tokens) behind CachedRaCredentialSource, and the PkiWsClient over
 * mutual TLS against the PKI-WS simulator. A new version of the RA certificate in the vault is picked up
 * when the CA refuses the cached one (one invalidate, one Key Vault read, one retry) or when the cache
 * lifetime ends; a vault that still holds only the refused certificate ends the call with CA_TLS_FAILED.
 *
 * Trust is passed in-process (jest cannot set NODE_EXTRA_CA_CERTS any more): `trustedCaPemForTests` for the
 * vault, `extraTrustedCaPem` for the simulator, both the dev TLS root. TLS verification stays on.
 */
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import { createCertificate } from '../../../dev/pki/certificates';
import { loadDevCa, type DevPki } from '../../../dev/pki/devPki';
import type { KeyVaultStandIn, RecordedVaultRequest } from '../../../dev/keyvault-standin/server';
import type { Simulator } from '../../../dev/simulator/server';
import { PkiWsClient } from '../../../shared/digicert/client';
import { CachedRaCredentialSource, KeyVaultRaCredentialSource } from '../../../shared/ra-credential';
import { failureOf } from '../../support/brokerErrors';
import { startDevSimulator, type DevSimulator } from '../../support/devSimulator';
import { startKeyVaultStandInWithDevTls } from '../../support/identityStack';

const HOUR_MS = 3_600_000;

/** One version of the RA certificate as imported into the vault. */
interface RaVersion {
  pfx: Buffer;
  password: string;
  thumbprint: string;
  /** As the simulator reports it: `CN=…, O=…`. */
  subject: string;
}

let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let vault: KeyVaultStandIn;
let v1: RaVersion;
let v2: RaVersion;
let v3: RaVersion;
const clients: PkiWsClient[] = [];

/** A renewed RA certificate from the same RA CA (EKU clientAuth), as a password-protected PFX. */
function renewedRa(commonName: string): RaVersion {
  const certificate = createCertificate({
    subject: [
      { shortName: 'O', value: 'Contoso' },
      { shortName: 'CN', value: commonName },
    ],
    issuer: loadDevCa(pki.raCa),
    extKeyUsage: ['clientAuth'],
  });
  const password = `rotation-${commonName}`;
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(certificate.keyPem!),
    [certificate.cert],
    password,
    { algorithm: '3des' },
  );
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(certificate.cert)).getBytes();
  return {
    pfx: Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'),
    password,
    thumbprint: forge.md.sha1.create().update(der).digest().toHex().toUpperCase(),
    subject: `O=Contoso, CN=${commonName}`,
  };
}

beforeAll(async () => {
  devSimulator = await startDevSimulator('ra-rotation-');
  ({ pki, simulator } = devSimulator);
  vault = await startKeyVaultStandInWithDevTls(pki);
  v1 = {
    pfx: readFileSync(pki.ra.pfxPath),
    password: pki.ra.pfxPassword,
    thumbprint: pki.ra.thumbprint,
    subject: pki.ra.subject,
  };
  v2 = renewedRa('Dev RA rotation v2');
  v3 = renewedRa('Dev RA rotation v3');
});

afterAll(async () => {
  await vault?.close();
  await devSimulator?.close();
});

beforeEach(() => simulator.reset());

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function putVersion(certificateName: string, version: RaVersion): void {
  vault.putCertificate(certificateName, { pfx: version.pfx, password: version.password });
}

/** The broker's wiring: Key Vault source, in-memory cache, CA client reading the credential through it. */
function brokerFor(certificateName: string, ttlMs: number, now?: () => Date): PkiWsClient {
  const keyVault = new KeyVaultRaCredentialSource({
    vaultUrl: vault.url,
    certificateName,
    credential: vault.credential,
    trustedCaPemForTests: pki.tlsRootCa.certPem,
    maxRetries: 0,
  });
  const cached = new CachedRaCredentialSource({
    source: keyVault,
    ttlMs,
    ...(now === undefined ? {} : { now }),
  });
  const client = new PkiWsClient({
    settings: {
      caAllowedHosts: [simulator.authority],
      caConnectTimeoutMs: 10_000,
      caRequestTimeoutMs: 10_000,
      caMaxAttempts: 3,
      caRetryBaseDelayMs: 0,
    },
    credential: cached,
    extraTrustedCaPem: [pki.tlsRootCa.certPem],
    sleep: async () => undefined,
  });
  clients.push(client);
  return client;
}

/** Successful reads of the certificate's metadata and of its secret (the key) in the vault. */
function vaultReads(certificateName: string): { certificates: number; secrets: number } {
  const reads = (kind: RecordedVaultRequest['kind']) =>
    vault.requests.filter(
      (request) =>
        request.kind === kind && request.name === certificateName && request.authorization === 'issued',
    ).length;
  return { certificates: reads('certificates'), secrets: reads('secrets') };
}

/** Thumbprint of the RA certificate the simulator answered the latest request for. */
function lastCallerThumbprint(): string | undefined {
  const subject = simulator.received.at(-1)?.clientCertSubject;
  const matches = simulator.clientCertificates.filter((client) => client.subject === subject);
  // Subjects are unique per version in this file, so the subject names exactly one certificate.
  expect(matches).toHaveLength(1);
  return matches[0]?.thumbprint;
}

function healthRequestsAnswered(): number {
  return simulator.received.filter((request) => request.service === 'healthcheckService').length;
}

describe('RA credential rotation without a restart', () => {
  it('keeps the cached v1 after v2 is put, switches to v2 on the CA refusing v1: one Key Vault read, one retry', async () => {
    putVersion('ra-refusal', v1);
    const client = brokerFor('ra-refusal', HOUR_MS);

    // (a) Calls work with v1.
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v1.thumbprint);
    expect(vaultReads('ra-refusal')).toEqual({ certificates: 1, secrets: 1 });

    // (b) v2 is put as a new version; the cached v1 stays in use, the vault is not read again.
    putVersion('ra-refusal', v2);
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v1.thumbprint);
    expect(vaultReads('ra-refusal')).toEqual({ certificates: 1, secrets: 1 });
    expect(simulator.clientCertificates.map((seen) => seen.thumbprint)).not.toContain(v2.thumbprint);

    // (c) The CA refuses v1: the next call still succeeds, made with v2 read from the vault once.
    simulator.refuseClientCertificate(v1.thumbprint);
    const answeredBefore = healthRequestsAnswered();
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v2.thumbprint);
    expect(vaultReads('ra-refusal')).toEqual({ certificates: 2, secrets: 2 });
    // v1's attempt was dropped before an answer, v2's was answered: the refusal, then exactly one retry.
    expect(simulator.stats().refusedClientCertificateRequests).toBe(1);
    expect(healthRequestsAnswered()).toBe(answeredBefore + 1);

    // v2 stays cached: further calls need neither the vault nor another refusal.
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v2.thumbprint);
    expect(vaultReads('ra-refusal')).toEqual({ certificates: 2, secrets: 2 });
  });

  it('with a short cache lifetime (200 ms) the next version is picked up after it ends, without any refusal', async () => {
    let clock = Date.now();
    putVersion('ra-ttl', v2);
    const client = brokerFor('ra-ttl', 200, () => new Date(clock));

    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v2.thumbprint);
    expect(vaultReads('ra-ttl')).toEqual({ certificates: 1, secrets: 1 });

    putVersion('ra-ttl', v3);
    clock += 199;
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v2.thumbprint);
    expect(vaultReads('ra-ttl')).toEqual({ certificates: 1, secrets: 1 });

    clock += 1;
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(lastCallerThumbprint()).toBe(v3.thumbprint);
    expect(vaultReads('ra-ttl')).toEqual({ certificates: 2, secrets: 2 });
    expect(simulator.stats().refusedClientCertificateRequests).toBe(0);
    expect(simulator.refusedClientCertificates).toEqual([]);
  });

  it('the vault still holds only the refused certificate: CA_TLS_FAILED after one re-read, not retried in a loop', async () => {
    putVersion('ra-stale', v1);
    const client = brokerFor('ra-stale', HOUR_MS);
    await expect(client.getStatus(simulator.authority)).resolves.toMatchObject({ up: true });
    expect(vaultReads('ra-stale')).toEqual({ certificates: 1, secrets: 1 });

    simulator.refuseClientCertificate(v1.thumbprint);
    const answeredBefore = healthRequestsAnswered();
    const error = await failureOf(client.getStatus(simulator.authority));
    expect(error.code).toBe('CA_TLS_FAILED');
    expect(error.message).toMatch(/RA certificate was most likely rejected/);
    expect(error.remedy).toMatch(/DigiCert did not accept the RA certificate/);
    // One re-read after the refusal found the same thumbprint, so the refused certificate was not tried again.
    expect(vaultReads('ra-stale')).toEqual({ certificates: 2, secrets: 2 });
    expect(simulator.stats().refusedClientCertificateRequests).toBe(1);
    expect(healthRequestsAnswered()).toBe(answeredBefore);
  });
});
