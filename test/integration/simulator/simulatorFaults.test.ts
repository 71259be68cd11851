/**
 * The simulator's harder faults: the ambiguous ones (the CA did the work, the client never hears of it),
 * the seeded random mode of the soak tests, counters, refusing one RA certificate, and the limits that keep
 * a 1000-request soak cheap (issuing cost, bounded `received`).
 */
import { X509Certificate } from 'node:crypto';
import { setTimeout as wait } from 'node:timers/promises';
import { Agent } from 'undici';
import { createCertificate } from '../../../dev/pki/certificates';
import { loadDevCa, type DevPki } from '../../../dev/pki/devPki';
import { InjectedFaultError, parseRandomFaults } from '../../../dev/simulator/faultParsing';
import { FaultQueue, mulberry32, type ChosenFault } from '../../../dev/simulator/faults';
import { issueCertificate, prepareIssuingAuthority, readCsr } from '../../../dev/simulator/issuer';
import {
  startPkiWsSimulator,
  TRANSIENT_SOAP_FAULT,
  type Simulator,
  type SimulatorStats,
} from '../../../dev/simulator/server';
import {
  USER_PROFILE,
  admin,
  csrBase64,
  enrollmentRequestXml,
  failureCode,
  fault,
  healthRequestXml,
  policyRequestXml,
  post,
  rsaKey,
  raAgent,
  startSimulatorSession,
  type SimulatorSession,
} from './simulatorClient';

let session: SimulatorSession;
let pki: DevPki;
let simulator: Simulator;
let agent: Agent;
let csr: string;

beforeAll(async () => {
  session = await startSimulatorSession('simulator-faults-');
  ({ pki, simulator, agent } = session);
  csr = csrBase64(rsaKey(2048));
});

afterAll(() => session?.close());

beforeEach(() => simulator.reset());

const enrollXml = (seat = 'soak0@contoso.com'): string =>
  enrollmentRequestXml({
    profileOid: USER_PROFILE,
    csr,
    pairs: [
      ['seat_id', seat],
      ['common_name', 'Soak User'],
      ['mail_email', seat],
      ['otherNameUPN', seat],
    ],
  });

const enroll = (options: { timeoutMs?: number; seat?: string } = {}) =>
  post(simulator, agent, 'enrollmentService', enrollXml(options.seat), options);

describe('faults after the work is done (the ambiguous cases)', () => {
  it('delay after processing: the certificate is issued and recorded while the client is still waiting', async () => {
    // The timeout leaves the simulator room to issue first, also on a busy machine.
    simulator.faults.enqueue({ kind: 'delay', ms: 2000, after: 'processing', service: 'enrollmentService' });
    expect(await failureCode(enroll({ timeoutMs: 1000 }))).toBe('TimeoutError');
    expect(simulator.issued).toHaveLength(1);
    expect(simulator.issued[0]).toMatchObject({ seatId: 'soak0@contoso.com', status: 'VALID' });
    await wait(1200); // the simulator's late answer finds the connection gone and is dropped quietly
    expect((await enroll()).status).toBe(200);
    expect(simulator.issued).toHaveLength(2);
  });

  it('delay before processing (the default): a client that gives up leaves nothing issued', async () => {
    simulator.faults.enqueue({ kind: 'delay', ms: 600, service: 'enrollmentService' });
    expect(await failureCode(enroll({ timeoutMs: 200 }))).toBe('TimeoutError');
    await wait(600);
    expect(simulator.issued).toHaveLength(0);
  });

  it('a delay after processing that the client waits out still delivers the answer', async () => {
    simulator.faults.enqueue({ kind: 'delay', ms: 300, after: 'processing' });
    const started = Date.now();
    const answer = await enroll();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(answer.status).toBe(200);
    expect(simulator.issued).toHaveLength(1);
  });

  it('reset after processing: issued, then the connection is reset (ECONNRESET)', async () => {
    simulator.faults.enqueue({ kind: 'reset', after: 'processing', service: 'enrollmentService' });
    expect(await failureCode(enroll())).toBe('ECONNRESET');
    expect(simulator.issued).toHaveLength(1);
    simulator.faults.enqueue({ kind: 'reset', service: 'enrollmentService' });
    expect(await failureCode(enroll())).toBe('ECONNRESET');
    expect(simulator.issued).toHaveLength(1);
  });

  it('an HTTP status after processing (a gateway timing out on a CA that did issue)', async () => {
    simulator.faults.enqueue({ kind: 'http', status: 504, after: 'processing' });
    expect((await enroll()).status).toBe(504);
    expect(simulator.issued).toHaveLength(1);
  });

  it('faults after processing over the admin endpoint, and their checks', async () => {
    const queued = await admin(simulator, agent, 'POST', 'faults', [
      { kind: 'reset', after: 'processing', service: 'enrollmentService' },
      { kind: 'delay', ms: 10, after: 'before' },
    ]);
    expect(queued.status).toBe(200);
    expect(simulator.faults.pending).toEqual([
      { kind: 'reset', after: 'processing', service: 'enrollmentService' },
      { kind: 'delay', ms: 10 },
    ]);
    const refused = await admin(simulator, agent, 'POST', 'faults', { kind: 'reset', after: 'later' });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toEqual({
      error: 'fault.after must be "processing" (or absent / "before")',
    });
    expect(() =>
      simulator.faults.enqueue({
        kind: 'soapFault',
        faultcode: 'Server',
        faultstring: 'x',
        after: 'processing',
      } as never),
    ).toThrow(/cannot come after processing/);
  });
});

describe('random faults', () => {
  const labels = (queue: FaultQueue, count: number): (string | undefined)[] =>
    Array.from({ length: count }, () => queue.next('enrollmentService')?.label);

  it('mulberry32 is deterministic per seed and spreads over [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const first = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(first);
    expect(Array.from({ length: 5 }, mulberry32(43))).not.toEqual(first.slice(0, 5));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...first)).toBeLessThan(1);
    const mean = first.reduce((sum, value) => sum + value, 0) / first.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('replays the same faults for the same seed, at the rate and in the mix asked for', () => {
    const options = {
      rate: 0.2,
      seed: 1234,
      delayMs: 1500,
      mix: { delayAfter: 2, http503: 1, resetAfter: 1 },
    };
    const one = new FaultQueue();
    const two = new FaultQueue();
    one.setRandom(options);
    two.setRandom(options);
    const run = labels(one, 5000);
    expect(labels(two, 5000)).toEqual(run);
    const hits = run.filter((label) => label !== undefined);
    expect(hits.length / run.length).toBeGreaterThan(0.18);
    expect(hits.length / run.length).toBeLessThan(0.22);
    const share = (label: string): number => hits.filter((hit) => hit === label).length / hits.length;
    expect(share('delayAfter')).toBeGreaterThan(0.45);
    expect(share('delayAfter')).toBeLessThan(0.55);
    expect(share('http503')).toBeGreaterThan(0.2);
    expect(share('resetAfter')).toBeGreaterThan(0.2);
    expect(new Set(hits)).toEqual(new Set(['delayAfter', 'http503', 'resetAfter']));

    const other = new FaultQueue();
    other.setRandom({ ...options, seed: 4321 });
    expect(labels(other, 5000)).not.toEqual(run);
  });

  it('builds each kind as the soak needs it', () => {
    const queue = new FaultQueue();
    const kinds = [
      'delayBefore',
      'delayAfter',
      'http503',
      'http429',
      'reset',
      'resetAfter',
      'transientSoapFault',
      'lateIssue',
    ] as const;
    const built = new Map<string, ChosenFault['fault']>();
    for (const kind of kinds) {
      queue.setRandom({ rate: 1, seed: 7, delayMs: 250, retryAfterSeconds: 2, mix: { [kind]: 1 } });
      const chosen = queue.next('policyService');
      expect(chosen).toMatchObject({ source: 'random', label: kind });
      built.set(kind, chosen!.fault);
    }
    expect(built.get('delayBefore')).toEqual({ kind: 'delay', ms: 250, service: 'policyService' });
    expect(built.get('delayAfter')).toEqual({
      kind: 'delay',
      ms: 250,
      after: 'processing',
      service: 'policyService',
    });
    expect(built.get('http503')).toMatchObject({ kind: 'http', status: 503, retryAfter: 2 });
    expect(built.get('http429')).toMatchObject({ kind: 'http', status: 429, retryAfter: 2 });
    expect(built.get('reset')).toEqual({ kind: 'reset', service: 'policyService' });
    expect(built.get('lateIssue')).toEqual({ kind: 'delay', ms: 250, late: true, service: 'policyService' });
    expect(built.get('resetAfter')).toEqual({ kind: 'reset', after: 'processing', service: 'policyService' });
    expect(built.get('transientSoapFault')).toMatchObject({
      kind: 'soapFault',
      faultcode: 'Server',
      faultstring: expect.stringMatching(/temporarily unavailable.*try again/i),
    });
  });

  it('leaves other services alone, yields to queued faults and turns off', () => {
    const queue = new FaultQueue();
    queue.setRandom({ rate: 1, seed: 1, mix: { http503: 1 }, services: ['enrollmentService'] });
    expect(queue.next('policyService')).toBeUndefined();
    queue.enqueue({ kind: 'http', status: 418 });
    expect(queue.next('enrollmentService')).toMatchObject({ source: 'queued', label: 'http418' });
    expect(queue.next('enrollmentService')).toMatchObject({ source: 'random', label: 'http503' });
    queue.clear();
    expect(queue.random).toBeDefined();
    queue.setRandom(undefined);
    expect(queue.random).toBeUndefined();
    expect(queue.next('enrollmentService')).toBeUndefined();
  });

  it('chooses and shows a seed when none is given; {} and null mean off', () => {
    const queue = new FaultQueue();
    queue.setRandom({ rate: 0.5, mix: { reset: 1 } });
    const seed = queue.random!.seed;
    expect(Number.isInteger(seed)).toBe(true);
    expect(queue.random).toEqual({
      rate: 0.5,
      seed,
      mix: {
        delayBefore: 0,
        delayAfter: 0,
        http503: 0,
        http429: 0,
        reset: 1,
        resetAfter: 0,
        transientSoapFault: 0,
        lateIssue: 0,
      },
      delayMs: 0,
      services: ['policyService', 'enrollmentService', 'healthcheckService', 'certificateManagementService'],
    });
    expect(parseRandomFaults({})).toBeUndefined();
    expect(parseRandomFaults(null)).toBeUndefined();
    // The default mix: every kind but http429, equally.
    expect(parseRandomFaults({ rate: 0.2, delayMs: 100 })!.mix).toEqual({
      delayBefore: 1,
      delayAfter: 1,
      http503: 1,
      http429: 0,
      reset: 1,
      resetAfter: 1,
      transientSoapFault: 1,
      lateIssue: 0,
    });
  });

  it.each([
    [{ rate: 1.5 }, /rate must be a number from 0 to 1/],
    [{ rate: 0.2, seed: -1, mix: { reset: 1 } }, /seed must be a whole number/],
    [{ rate: 0.2, delayMs: 10, mix: { delayBeforeMs: 1 } }, /mix\.delayBeforeMs is not a fault kind/],
    [{ rate: 0.2, mix: { reset: -1 } }, /mix\.reset must be a weight/],
    [{ rate: 0.2, mix: { reset: 0 } }, /at least one kind/],
    [{ rate: 0.2, mix: { delayAfter: 1 } }, /delayMs is required/],
    [{ rate: 0.2, mix: { reset: 1 }, services: ['nope'] }, /services must be a non-empty list/],
    [{ rate: 0.2, mix: { reset: 1 }, ratio: 3 }, /unknown option "ratio"/],
  ])('refuses %j', (options, message) => {
    expect(() => parseRandomFaults(options)).toThrow(InjectedFaultError);
    expect(() => parseRandomFaults(options)).toThrow(message);
  });

  it('over the wire: a transient SOAP fault a client can recognise, 503 with Retry-After, counted in stats', async () => {
    simulator.faults.setRandom({ rate: 1, seed: 5, mix: { transientSoapFault: 1 } });
    const answer = await enroll();
    expect(answer.status).toBe(500);
    expect(fault(answer.body)).toEqual({
      faultcode: 'soapenv:Server',
      faultstring: TRANSIENT_SOAP_FAULT.faultstring,
      errorcode: TRANSIENT_SOAP_FAULT.errorcode,
      message: TRANSIENT_SOAP_FAULT.message,
    });

    const set = await admin(simulator, agent, 'POST', 'faults/random', {
      rate: 1,
      seed: 9,
      mix: { http503: 1 },
      retryAfterSeconds: 3,
      services: ['policyService'],
    });
    expect(set.status).toBe(200);
    expect(JSON.parse(set.body)).toMatchObject({ random: { rate: 1, seed: 9, services: ['policyService'] } });
    const unavailable = await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]));
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('3');
    expect((await post(simulator, agent, 'healthcheckService', healthRequestXml())).status).toBe(200);
    simulator.faults.enqueue({ kind: 'http', status: 502, service: 'policyService' });
    expect((await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]))).status).toBe(
      502,
    );

    expect((await admin(simulator, agent, 'POST', 'faults/random', { rate: 3 })).status).toBe(400);
    expect((await admin(simulator, agent, 'POST', 'faults/random', 'on')).status).toBe(400);
    expect(simulator.faults.random).toBeDefined();
    expect((await admin(simulator, agent, 'POST', 'faults/random', null)).status).toBe(200);
    expect(simulator.faults.random).toBeUndefined();
    simulator.faults.setRandom({ rate: 1, mix: { reset: 1 } });
    expect((await admin(simulator, agent, 'POST', 'faults/random', {})).status).toBe(200);
    expect(simulator.faults.random).toBeUndefined();
    expect(JSON.parse((await admin(simulator, agent, 'GET', 'faults/random')).body)).toEqual({
      random: null,
    });
    expect((await post(simulator, agent, 'policyService', policyRequestXml([USER_PROFILE]))).status).toBe(
      200,
    );

    const stats = JSON.parse((await admin(simulator, agent, 'GET', 'stats')).body) as SimulatorStats;
    expect(stats).toEqual({
      requests: {
        policyService: 3,
        enrollmentService: 1,
        healthcheckService: 1,
        certificateManagementService: 0,
        unknown: 0,
      },
      faults: { transientSoapFault: 1, http503: 1, http502: 1 },
      faultsBySource: { queued: 1, random: 2 },
      refusedClientCertificateRequests: 0,
      issued: 0,
      valid: 0,
      revoked: 0,
      suspended: 0,
    });
    expect(simulator.stats()).toEqual(stats);
  });
});

describe('refusing one RA certificate (RA rotation)', () => {
  let newRa: { certPem: string; keyPem: string; thumbprint: string };
  let newAgent: Agent;

  beforeAll(() => {
    // A second RA certificate from the same RA CA: the renewed one the broker should move to.
    const renewed = createCertificate({
      subject: [
        { shortName: 'CN', value: 'Dev RA 2' },
        { shortName: 'O', value: 'Contoso' },
      ],
      issuer: loadDevCa(pki.raCa),
      extKeyUsage: ['clientAuth'],
    });
    newRa = {
      certPem: renewed.certPem,
      keyPem: renewed.keyPem!,
      thumbprint: new X509Certificate(renewed.certPem).fingerprint.replace(/:/g, ''),
    };
    newAgent = new Agent({
      connect: { ca: pki.tlsRootCa.certPem, key: newRa.keyPem, cert: newRa.certPem, timeout: 5000 },
    });
  });

  afterAll(async () => {
    await newAgent.close();
  });

  it("drops the refused certificate's requests before any answer, serves the renewed one, keeps admin open", async () => {
    expect((await post(simulator, agent, 'healthcheckService', healthRequestXml())).status).toBe(200);
    expect(simulator.clientCertificates.map((client) => client.thumbprint)).toContain(pki.ra.thumbprint);

    // The kept-alive connection of the old certificate is closed at once, new ones are refused.
    simulator.refuseClientCertificate(pki.ra.thumbprint.toLowerCase().match(/../g)!.join(':'));
    expect(simulator.refusedClientCertificates).toEqual([pki.ra.thumbprint]);
    await wait(50);
    expect(await failureCode(post(simulator, agent, 'healthcheckService', healthRequestXml()))).toBe(
      'UND_ERR_SOCKET',
    );
    const fresh = raAgent(pki);
    try {
      // A new connection: closed right after the handshake, not one byte of answer (what a client that
      // classifies TLS refusals must recognise).
      let socketBytesRead: unknown;
      try {
        await post(simulator, fresh, 'enrollmentService', enrollXml());
      } catch (error) {
        expect((error as { code?: unknown }).code).toBe('UND_ERR_SOCKET');
        socketBytesRead = (error as { socket?: { bytesRead?: unknown } }).socket?.bytesRead;
      }
      expect(socketBytesRead).toBe(0);
    } finally {
      await fresh.close();
    }
    expect(simulator.issued).toHaveLength(0);
    expect(simulator.received).toHaveLength(1); // only the request before the refusal

    expect((await post(simulator, newAgent, 'enrollmentService', enrollXml())).status).toBe(200);
    expect(simulator.received.at(-1)!.clientCertSubject).toBe('CN=Dev RA 2, O=Contoso');

    const listed = JSON.parse((await admin(simulator, agent, 'GET', 'client-certificates')).body) as {
      refused: string[];
      seen: { thumbprint: string; subject: string }[];
    };
    expect(listed.refused).toEqual([pki.ra.thumbprint]);
    expect(listed.seen.map((client) => client.thumbprint).sort()).toEqual(
      [pki.ra.thumbprint, newRa.thumbprint].sort(),
    );
    expect(simulator.stats().refusedClientCertificateRequests).toBe(2);

    simulator.acceptClientCertificate(pki.ra.thumbprint);
    expect((await post(simulator, agent, 'healthcheckService', healthRequestXml())).status).toBe(200);
  });

  it('over the admin endpoint, by SHA-256 thumbprint as well', async () => {
    const sha256 = simulator.clientCertificates.find(
      (client) => client.thumbprint === newRa.thumbprint,
    )!.thumbprintSha256;
    expect(
      (await admin(simulator, agent, 'POST', 'client-certificates/refuse', { thumbprint: sha256 })).status,
    ).toBe(200);
    expect(await failureCode(post(simulator, newAgent, 'healthcheckService', healthRequestXml()))).toBe(
      'UND_ERR_SOCKET',
    );
    expect(
      (await admin(simulator, agent, 'POST', 'client-certificates/accept', { thumbprint: sha256 })).status,
    ).toBe(200);
    expect((await post(simulator, newAgent, 'healthcheckService', healthRequestXml())).status).toBe(200);

    const bad = await admin(simulator, agent, 'POST', 'client-certificates/refuse', { thumbprint: 'ABC' });
    expect(bad.status).toBe(400);
    expect(() => simulator.refuseClientCertificate('not a thumbprint')).toThrow(
      /not a certificate thumbprint/,
    );
  });

  it('reset() forgets the refusals', async () => {
    simulator.refuseClientCertificate(pki.ra.thumbprint);
    simulator.reset();
    expect(simulator.refusedClientCertificates).toEqual([]);
    await wait(50); // the refusal closed the agent's kept-alive connection; let the agent notice
    expect((await post(simulator, agent, 'healthcheckService', healthRequestXml())).status).toBe(200);
  });
});

describe('soak-sized runs', () => {
  // Speed is measured in `npm run bench`, not asserted here: these check that repeated issuing stays correct.
  it('issues certificates over and over from the CA parsed once', async () => {
    const authority = prepareIssuingAuthority(pki.caIssuing, pki.caRoot);
    const { publicKeyPem } = readCsr(csr);
    const request = {
      publicKeyPem,
      subject: [{ rdn: 'CN' as const, value: 'Timing' }],
      san: [{ kind: 'email' as const, value: 'timing@contoso.com' }],
      validityDays: 30,
    };
    const serials = new Set<string>();
    for (let i = 0; i < 100; i += 1) {
      const issued = new X509Certificate(issueCertificate(request, authority).leafDer);
      expect(issued.checkIssued(new X509Certificate(pki.caIssuing.certPem))).toBe(true);
      serials.add(issued.serialNumber);
    }
    expect(serials.size).toBe(100);
  });

  it('enrolls 200 times over mutual TLS, one valid certificate per seat', async () => {
    const count = 200;
    for (let i = 0; i < count; i += 1) {
      const answer = await enroll({ seat: `perf${i}@contoso.com` });
      if (answer.status !== 200) throw new Error(`enrollment ${i} answered ${answer.status}`);
    }
    expect(simulator.accountAudit()).toMatchObject({
      certificates: count,
      valid: count,
      seatsWithSeveralValid: [],
    });
  });

  it('keeps at most maxReceived requests, without bodies when asked, and still counts them all', async () => {
    const lean = await startPkiWsSimulator({ pki, recordBodies: false, maxReceived: 3 });
    try {
      for (let i = 0; i < 5; i += 1) {
        await post(lean, agent, 'healthcheckService', healthRequestXml());
      }
      await post(lean, agent, 'policyService', policyRequestXml([USER_PROFILE]));
      expect(lean.received.map((entry) => entry.service)).toEqual([
        'healthcheckService',
        'healthcheckService',
        'policyService',
      ]);
      for (const entry of lean.received) {
        expect(entry.body).toBe('');
        expect(entry.bodyBytes).toBeGreaterThan(100);
      }
      expect(lean.stats().requests).toMatchObject({ healthcheckService: 5, policyService: 1 });
    } finally {
      await lean.close();
    }
    await expect(startPkiWsSimulator({ pki, maxReceived: -1 })).rejects.toThrow(/maxReceived/);
  });
});
