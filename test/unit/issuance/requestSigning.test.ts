/**
 * Request authentication through both pipelines (REQUEST_SIGNING_SECRET_NAME): with a signing key, only a
 * correctly signed request or revocation is acted on; a refused message leaves no ledger record, so a forger
 * cannot take an id the real sender will use, nor end a real request through the poison queue. The Key Vault
 * side (versions, rotation, failures) is test/integration/request-signing; here the keys are in memory.
 */
import { createCertificate } from '../../../dev/pki/certificates';
import { readSettings } from '../../../shared/config/settings';
import type { PkcsResult, RevocationResult } from '../../../shared/contract/types';
import { signMessage, type SigningKey } from '../../../shared/guardrails/requestSignature';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import type { SigningKeySource } from '../../../shared/request-signing/keyVaultSigningKeys';
import { MessageAuthentication } from '../../../shared/request-signing/messageAuthentication';
import { RevocationPipeline, type RevocationOutcome } from '../../../shared/revocation/revocationPipeline';
import { BrokerError } from '../../../shared/contract/errors';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { InMemoryRequestLedger, InMemoryTable, inMemoryRevocationLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';

const CA_HOST = 'pki-ws.example.test';
const CURRENT: SigningKey = { keyId: 'a'.repeat(32), key: Buffer.alloc(32, 1) };
const PREVIOUS: SigningKey = { keyId: 'b'.repeat(32), key: Buffer.alloc(32, 2) };
const FORGED: SigningKey = { keyId: CURRENT.keyId, key: Buffer.alloc(32, 3) };

/** The versions of the signing secret, as Key Vault would hand them out. */
class VersionedKeys implements SigningKeySource {
  readonly secretName = 'request-signing';
  reads = 0;
  unavailable = false;
  constructor(private readonly versions: SigningKey[]) {}
  async key(keyId: string | undefined): Promise<SigningKey> {
    this.reads += 1;
    if (this.unavailable) {
      throw new BrokerError('REQUEST_NOT_ALLOWED', 'the signature cannot be checked now', {
        retryable: true,
      });
    }
    const found = keyId === undefined ? this.versions[0] : this.versions.find((key) => key.keyId === keyId);
    if (found === undefined)
      throw new BrokerError('REQUEST_NOT_ALLOWED', `signature.keyId ${keyId} is unknown`);
    return found;
  }
}

const ca = FakeDigicertCa.create();
const recipient = createCertificate({ subject: [{ shortName: 'CN', value: 'PFX Recipient' }], days: 30 });
const settings = readSettings({ CA_ALLOWED_HOSTS: CA_HOST, QUEUE_MAX_DEQUEUE_COUNT: '2' });
let table: InMemoryTable;
let ledger: InMemoryRequestLedger;
let keys: VersionedKeys;
let counter = 0;

function pipelines(): { issuing: CertificatePipeline; revoking: RevocationPipeline } {
  const authentication = new MessageAuthentication({ keys, maxAgeDays: 90 });
  const telemetry = new RecordingTelemetry();
  return {
    issuing: new CertificatePipeline({ settings, ca, ledger, telemetry, authentication }),
    revoking: new RevocationPipeline({
      settings,
      ca,
      requests: ledger,
      revocations: inMemoryRevocationLedger(table),
      telemetry,
      authentication,
    }),
  };
}

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> & { requestId: string } {
  counter += 1;
  const mail = `signed-${counter}@contoso.com`;
  return {
    schemaVersion: 1,
    requestId: `signed-${counter}`,
    certificateAuthority: CA_HOST,
    certificateAuthorityName: 'Symantec',
    certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
    subjectName: `CN=Signed ${counter},E=${mail}`,
    subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
    recipientCertificate: recipient.certPem,
    ...overrides,
  };
}

const signed = <T extends object>(message: T, key = CURRENT, at = new Date()) =>
  signMessage(message, key, at);

function resultOf(outcome: PipelineOutcome | RevocationOutcome): PkcsResult | RevocationResult {
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
  return outcome.result;
}

function errorOf(outcome: PipelineOutcome | RevocationOutcome): { code: string; message: string } {
  const result = resultOf(outcome);
  if (result.status !== 'failed') throw new Error(`expected a failed result, got ${result.status}`);
  return result.error;
}

beforeEach(() => {
  table = new InMemoryTable();
  ledger = new InMemoryRequestLedger(table);
  keys = new VersionedKeys([CURRENT, PREVIOUS]);
});

describe('signed requests', () => {
  it('issues a request signed with the current key, or with a previous version still enabled', async () => {
    const { issuing } = pipelines();
    expect(
      resultOf(await issuing.process(JSON.stringify(signed(request())), { dequeueCount: 1 })).status,
    ).toBe('issued');
    const withPrevious = signed(request(), PREVIOUS);
    expect(resultOf(await issuing.process(withPrevious, { dequeueCount: 1 })).status).toBe('issued');
    const withoutKeyId = signed(request());
    delete (withoutKeyId.signature as { keyId?: string }).keyId;
    const reSigned = signMessage(withoutKeyId, CURRENT, new Date()); // keyId is part of what is signed
    delete (reSigned.signature as { keyId?: string }).keyId;
    expect(errorOf(await issuing.process(reSigned, { dequeueCount: 1 })).message).toMatch(/does not match/);
  });

  it.each([
    ['unsigned', (body: Record<string, unknown>) => body, /is not signed/],
    ['signed with a forged key', (body: Record<string, unknown>) => signed(body, FORGED), /does not match/],
    [
      'changed after signing',
      (body: Record<string, unknown>) => ({
        ...signed(body),
        subjectName: 'CN=Mallory,E=mallory@contoso.com',
      }),
      /does not match/,
    ],
    [
      'signed with an unknown key version',
      (body: Record<string, unknown>) => signed(body, { ...CURRENT, keyId: 'c'.repeat(32) }),
      /keyId c{32} is unknown/,
    ],
  ])(
    'refuses a request %s, records nothing, and the real one with that id is issued after',
    async (_what, forge, words) => {
      const { issuing } = pipelines();
      const body = request();
      const outcome = await issuing.process(forge({ ...body, context: { deviceId: 'forged' } }), {
        dequeueCount: 1,
      });
      const refused = errorOf(outcome);
      expect(refused.code).toBe('REQUEST_NOT_ALLOWED');
      expect(refused.message).toMatch(words);
      // Nothing is put under the real id and the forger's context is not echoed: the id is in the text only.
      expect(resultOf(outcome)).not.toHaveProperty('context');
      expect(
        outcome.kind === 'result' && 'requestId' in outcome.result && outcome.result.requestId,
      ).toBeNull();
      expect(refused.message.startsWith(`request "${body.requestId}": `)).toBe(true);
      expect(await ledger.get(body.requestId)).toBeUndefined();
      expect(resultOf(await issuing.process(signed(body), { dequeueCount: 1 })).status).toBe('issued');
    },
  );

  it('replays the stored result to the same request signed again later (the signature is not its identity)', async () => {
    const { issuing } = pipelines();
    const body = request();
    const first = await issuing.process(signed(body, CURRENT, new Date(Date.now() - 60_000)), {
      dequeueCount: 1,
    });
    const again = await issuing.process(signed(body, PREVIOUS), { dequeueCount: 1 });
    expect(again.kind === 'result' && again.replayed).toBe(true);
    expect(again.kind === 'result' && first.kind === 'result' && again.json === first.json).toBe(true);
  });

  it('lets a request wait while the key cannot be read, and issues it once it can', async () => {
    const { issuing } = pipelines();
    const body = signed(request());
    keys.unavailable = true;
    const waiting = await issuing.process(body, { dequeueCount: 1 });
    expect(waiting.kind).toBe('retry');
    expect(await ledger.get(body.requestId)).toBeUndefined();
    keys.unavailable = false;
    expect(resultOf(await issuing.process(body, { dequeueCount: 2 })).status).toBe('issued');
  });

  it('a forged message on the poison queue fails alone and leaves the real request untouched', async () => {
    const { issuing } = pipelines();
    const body = request();
    const real = signed(body);
    ca.failNext('enroll', new BrokerError('CA_UNAVAILABLE', 'The CA answered 503.'));
    expect((await issuing.process(real, { dequeueCount: 1 })).kind).toBe('retry');
    const before = await ledger.record(body.requestId);
    // Another body under the real id (a copy of the real body is the real request: see the threat model, T21).
    const forgedBody = { ...body, subjectName: 'CN=Mallory,E=mallory@contoso.com' };
    const forged = errorOf(await issuing.poisoned(signed(forgedBody, FORGED)));
    expect(forged.code).toBe('REQUEST_NOT_ALLOWED');
    expect(await ledger.record(body.requestId)).toEqual(before);
    expect(resultOf(await issuing.process(real, { dequeueCount: 2 })).status).toBe('issued');
    // The real message, once poisoned, is still the real request's one result.
    expect(resultOf(await issuing.poisoned(real)).status).toBe('issued');
  });
});

describe('a request the ledger already holds', () => {
  const outage = () => new BrokerError('CA_UNAVAILABLE', 'The CA answered 503.');

  it('is carried on without a new check while the key cannot be read (no unstored GAVE_UP)', async () => {
    const { issuing } = pipelines();
    const body = signed(request());
    ca.failNext('enroll', outage());
    expect((await issuing.process(body, { dequeueCount: 1 })).kind).toBe('retry');
    keys.unavailable = true;
    const reads = keys.reads;
    // The last delivery (QUEUE_MAX_DEQUEUE_COUNT 2): the record of this very body vouches for it.
    const done = await issuing.process(body, { dequeueCount: 2 });
    expect(resultOf(done).status).toBe('issued');
    expect(keys.reads).toBe(reads);
    expect((await ledger.record(body.requestId)).state).toBe('issued');
  });

  it('whose delivery died at the CA is not refused when its key version is retired meanwhile', async () => {
    const body = request();
    const real = signed(body, PREVIOUS);
    const sent = ca.hangNextEnrollment();
    void pipelines().issuing.process(real, { dequeueCount: 1 }); // the host dies waiting for the CA
    await sent;
    keys = new VersionedKeys([CURRENT]); // PREVIOUS retired
    const next = await pipelines().issuing.process(real, { dequeueCount: 2 });
    // Not refused: the request the ledger holds goes on to be reconciled with the CA (and, on its last
    // delivery, settled and issued).
    expect(next.kind === 'result' ? next.result.status : next.kind).not.toBe('failed');
    expect(keys.reads).toBe(0);
    expect(['enrolling', 'issued']).toContain((await ledger.record(body.requestId)).state);
  });

  it('ends through the poison queue with its GAVE_UP stored while the key cannot be read', async () => {
    const { issuing } = pipelines();
    const body = signed(request());
    ca.failNext('enroll', outage());
    await issuing.process(body, { dequeueCount: 1 });
    keys.unavailable = true;
    const ended = await issuing.poisoned(body);
    expect(errorOf(ended).code).toBe('GAVE_UP');
    expect((await ledger.record(body.requestId)).state).toBe('failed');
  });

  it('a revocation with a stored record is carried on while the key cannot be read', async () => {
    const { issuing, revoking } = pipelines();
    const issued = resultOf(await issuing.process(signed(request()), { dequeueCount: 1 }));
    if (issued.status !== 'issued' || !('certificate' in issued)) throw new Error('not issued');
    counter += 1;
    const revocationBody = signed({
      schemaVersion: 1,
      revocationId: `revoke-held-${counter}`,
      certificateAuthority: CA_HOST,
      serialNumber: issued.certificate.serialNumber,
    });
    ca.failNext('revokeCertificate', outage());
    expect((await revoking.process(revocationBody, { dequeueCount: 1 })).kind).toBe('retry');
    keys.unavailable = true;
    expect(resultOf(await revoking.process(revocationBody, { dequeueCount: 2 })).status).toBe('revoked');
  });
});

describe('without REQUEST_SIGNING_SECRET_NAME', () => {
  it('accepts a signed request without checking the MAC, so senders can sign before the broker requires it', async () => {
    const unchecked = new CertificatePipeline({ settings, ca, ledger, telemetry: new RecordingTelemetry() });
    const forged = signed(request(), FORGED);
    expect(resultOf(await unchecked.process(forged, { dequeueCount: 1 })).status).toBe('issued');
    expect(keys.reads).toBe(0);
  });
});

describe('signed revocations', () => {
  async function issued(): Promise<{
    serialNumber: string;
    body: Record<string, unknown>;
    seat: () => { valid: number; revoked: number };
  }> {
    const body = request();
    const result = resultOf(await pipelines().issuing.process(signed(body), { dequeueCount: 1 }));
    if (result.status !== 'issued' || !('certificate' in result)) throw new Error('not issued');
    const mail = (body.subjectAlternativeNames as { value: string }[])[0]!.value;
    return { serialNumber: result.certificate.serialNumber, body, seat: () => ca.seat(mail) };
  }

  function revocation(serialNumber: string): Record<string, unknown> & { revocationId: string } {
    counter += 1;
    return {
      schemaVersion: 1,
      revocationId: `revoke-${counter}`,
      certificateAuthority: CA_HOST,
      serialNumber,
    };
  }

  it('revokes only on a valid signature; a refused one records nothing', async () => {
    const { revoking } = pipelines();
    const { serialNumber, seat } = await issued();
    const body = revocation(serialNumber);
    const unsigned = errorOf(await revoking.process(body, { dequeueCount: 1 }));
    expect(unsigned.code).toBe('REQUEST_NOT_ALLOWED');
    expect(unsigned.message).toBe(
      `revocation "${body.revocationId}": the revocation is not signed, and this broker acts only on signed messages (REQUEST_SIGNING_SECRET_NAME is set).`,
    );
    const forged = errorOf(await revoking.process(signed(body, FORGED), { dequeueCount: 1 }));
    expect(forged.message).toMatch(/^revocation "revoke-\d+": signature does not match the revocation/);
    expect(seat()).toEqual({ valid: 1, revoked: 0 });
    expect(errorOf(await revoking.poisoned(body)).code).toBe('REQUEST_NOT_ALLOWED');
    const done = resultOf(await revoking.process(signed(body), { dequeueCount: 1 }));
    expect(done.status).toBe('revoked');
    expect(seat()).toEqual({ valid: 0, revoked: 1 });
  });

  it("accepts the broker's own supersede revocation unsigned: the ledger vouches for it", async () => {
    const { issuing, revoking } = pipelines();
    const old = await issued();
    const outcome = await issuing.process(
      signed({ ...old.body, requestId: `${old.body.requestId}-renewal`, supersedes: old.serialNumber }),
      {
        dequeueCount: 1,
      },
    );
    if (outcome.kind !== 'result' || outcome.revocation === undefined)
      throw new Error('no supersede revocation');
    expect(JSON.parse(outcome.revocation)).not.toHaveProperty('signature');
    const done = resultOf(await revoking.process(outcome.revocation, { dequeueCount: 1 }));
    expect(done.status).toBe('revoked');
    expect(old.seat()).toEqual({ valid: 1, revoked: 1 });
  });
});
