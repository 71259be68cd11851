/**
 * The soak's audit on made-up runs: a clean run passes every check, and each way a run can go wrong (a lost
 * result, a differing repeat, a wrong code, a certificate too many …) fails exactly the checks it should.
 */
import { auditSoak, type Answer, type AuditInput } from '../../../dev/soak/audit';
import { DEFAULT_SOAK_HOST_SETTINGS } from '../../../dev/soak/settings';
import {
  accountAudit,
  type CertificateStatus,
  type IssuedCertificate,
} from '../../../dev/simulator/management';
import type { SimulatorStats } from '../../../dev/simulator/server';

const CHECK = {
  lost: 'every request has a result (0 lost)',
  unknown: 'no result for an unknown request id',
  repeats: 'repeated results are byte-identical',
  issued: 'issued certificates are VALID at the CA, on their seat',
  oneValid: 'at most one VALID certificate per seat',
  strays: 'every stray certificate is revoked',
  codes: 'failures only with GAVE_UP/CA_TIMEOUT/CA_UNAVAILABLE',
  crashes: 'no unhandled error, no host crash',
  drained: 'queues drained after the last result',
  faults: 'faults were injected',
  kill: 'the host was killed mid-run',
} as const;

const REQUESTS = 3;
const ids = Array.from({ length: REQUESTS }, (_, index) => `soak-abc123-${index + 1}`);
const seat = (index: number): string => `soak-${index}@contoso.com`;
const derOf = (serial: string): string => Buffer.from(`certificate ${serial}`).toString('base64');
const pemOf = (der: string): string => `-----BEGIN CERTIFICATE-----\n${der}\n-----END CERTIFICATE-----\n`;

function certificate(
  index: number,
  serial: string,
  status: CertificateStatus = 'VALID',
  seatId = seat(index),
): IssuedCertificate {
  return {
    serialNumber: serial,
    profileOid: '1.2.3',
    seatId,
    commonName: `Soak User ${index}`,
    subject: `CN=Soak User ${index}`,
    status,
    ...(status === 'REVOKED' ? { revocationReason: 'Superseded' } : {}),
    notBefore: new Date(0),
    notAfter: new Date(0),
    certificatePem: pemOf(derOf(serial)),
    certificateDerBase64: derOf(serial),
    csrDerBase64: '',
    nameValuePairs: [],
    serverTransactionId: `tx-${serial}`,
    issuedAt: new Date(0),
  };
}

function issuedAnswer(id: string, serial: string, der = derOf(serial)): Answer {
  return {
    text: JSON.stringify({
      requestId: id,
      status: 'issued',
      certificate: { serialNumber: serial, pem: pemOf(der) },
    }),
    status: 'issued',
    serial,
    receivedAt: 1_500,
    repeats: 0,
    differingRepeats: 0,
  };
}

function failedAnswer(id: string, code: string, status = 'failed'): Answer {
  return {
    text: JSON.stringify({ requestId: id, status, error: { code } }),
    status,
    errorCode: code,
    receivedAt: 1_500,
    repeats: 0,
    differingRepeats: 0,
  };
}

function stats(faultsInjected: number): SimulatorStats {
  return {
    requests: {
      policyService: 3,
      enrollmentService: 4,
      certificateManagementService: 2,
      unknown: 0,
    } as SimulatorStats['requests'],
    faults: faultsInjected > 0 ? { http503: faultsInjected } : {},
    faultsBySource: { queued: 0, random: faultsInjected },
    refusedClientCertificateRequests: 0,
    issued: 0,
    valid: 0,
    revoked: 0,
    suspended: 0,
  };
}

/** A clean run: every request issued once, one VALID certificate per seat, faults met, the host killed once. */
interface Run {
  answers: Map<string, Answer>;
  submittedAt: Map<string, number>;
  certificates: IssuedCertificate[];
  unknownResults: string[];
  unhandled: string[];
  unexpectedExits: string[];
  faultsInjected: number;
  faultRate: number;
  leftInQueues: number;
  killed: boolean;
  killAsked: boolean;
}

function cleanRun(): Run {
  return {
    answers: new Map(ids.map((id, index) => [id, issuedAnswer(id, `A${index + 1}`)])),
    submittedAt: new Map(ids.map((id) => [id, 1_000])),
    certificates: ids.map((_, index) => certificate(index + 1, `A${index + 1}`)),
    unknownResults: [],
    unhandled: [],
    unexpectedExits: [],
    faultsInjected: 4,
    faultRate: 0.2,
    leftInQueues: 0,
    killed: true,
    killAsked: true,
  };
}

function inputOf(run: Run): AuditInput {
  const allowedFailureCodes = ['GAVE_UP', 'CA_TIMEOUT', 'CA_UNAVAILABLE'];
  return {
    ids,
    indexOf: new Map(ids.map((id, index) => [id, index + 1])),
    submittedAt: run.submittedAt,
    answers: run.answers,
    unknownResults: run.unknownResults,
    ca: {
      certificates: run.certificates,
      stats: stats(run.faultsInjected),
      account: accountAudit(run.certificates),
    },
    scan: {
      unhandled: run.unhandled,
      unexpectedExits: run.unexpectedExits,
      failedDeliveries: 0,
      poisonMoves: 0,
    },
    started: 1_000,
    submitDoneAt: 1_100,
    lastFirstResultAt: 2_000,
    kill: run.killed ? { atMs: 400, resultsBefore: 2, submittedBefore: 3, restartMs: 300 } : null,
    killThreshold: run.killAsked ? 2 : undefined,
    leftInQueues: run.leftInQueues,
    settings: {
      requests: REQUESTS,
      faultRate: run.faultRate,
      seed: 1,
      faultDelayMs: 2_500,
      faultMix: { http503: 1 },
      faultServices: ['enrollmentService'],
      killHostAt: run.killAsked ? 0.5 : null,
      concurrencySubmit: 16,
      maxOutstanding: null,
      timeoutMs: 60_000,
      host: { ...DEFAULT_SOAK_HOST_SETTINGS },
      hostBatchSize: 8,
      hostEnv: {},
      allowedFailureCodes,
    },
  };
}

const [first, second] = ids as [string, string, string];

describe('the soak audit', () => {
  it('passes a clean run, with its figures', () => {
    const report = auditSoak(inputOf(cleanRun()));
    expect(report.checks.filter((entry) => !entry.passed)).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.checks.map((entry) => entry.name)).toEqual(Object.values(CHECK));
    expect(report.figures).toMatchObject({
      wallMs: 1_000,
      submitted: REQUESTS,
      submitMs: 100,
      throughputPerSecond: REQUESTS,
      latencyMs: { p50: 500, p95: 500, max: 500 },
      issued: REQUESTS,
      failedByCode: {},
      repeatedResults: 0,
      faultsInjected: 4,
      straysRevoked: 0,
      caCertificates: { issued: REQUESTS, valid: REQUESTS, revoked: 0 },
      leftInQueues: 0,
    });
  });

  const cases: Array<{
    name: string;
    change: (run: Run) => void;
    failing: string[];
    /** A line the first failing check's details must hold. */
    detail?: RegExp;
    figures?: Record<string, unknown>;
  }> = [
    {
      name: 'a request without a result',
      change: (run) => run.answers.delete(second),
      failing: [CHECK.lost],
      detail: /^soak-abc123-2 \(seat soak-2@contoso\.com: A2 VALID\)$/,
    },
    {
      name: 'a request never submitted before the deadline',
      change: (run) => {
        run.answers.delete(second);
        run.submittedAt.delete(second);
        run.certificates.splice(1, 1);
      },
      failing: [CHECK.lost],
      detail: /never submitted/,
    },
    {
      name: 'a repeated result identical to the first',
      change: (run) => (run.answers.get(first)!.repeats = 2),
      failing: [],
      figures: { repeatedResults: 2 },
    },
    {
      name: 'a repeated result that differs from the first',
      change: (run) => Object.assign(run.answers.get(first)!, { repeats: 2, differingRepeats: 1 }),
      failing: [CHECK.repeats],
      detail: /1 of 2 repeated results differ/,
    },
    {
      name: 'a result for a request the soak did not send',
      change: (run) => run.unknownResults.push('soak-other-9 issued'),
      failing: [CHECK.unknown],
    },
    {
      name: 'a failure with an allowed code, its certificate revoked',
      change: (run) => {
        run.answers.set(second, failedAnswer(second, 'GAVE_UP'));
        run.certificates[1] = certificate(2, 'A2', 'REVOKED');
      },
      failing: [],
      figures: { failedByCode: { GAVE_UP: 1 }, straysRevoked: 1, issued: 2 },
    },
    {
      name: 'a failure with a wrong code',
      change: (run) => {
        run.answers.set(second, failedAnswer(second, 'INVALID_REQUEST'));
        run.certificates.splice(1, 1);
      },
      failing: [CHECK.codes],
      detail: /^soak-abc123-2: failed INVALID_REQUEST$/,
    },
    {
      name: 'a result that is neither issued nor failed',
      change: (run) => {
        run.answers.set(second, failedAnswer(second, 'GAVE_UP', 'unreadable'));
        run.certificates.splice(1, 1);
      },
      failing: [CHECK.codes],
    },
    {
      name: 'a failure whose seat still holds a VALID certificate',
      change: (run) => run.answers.set(second, failedAnswer(second, 'CA_TIMEOUT')),
      failing: [CHECK.strays],
      detail: /failed \(CA_TIMEOUT\) but A2 is VALID/,
    },
    {
      name: 'an issued serial the CA does not know',
      change: (run) => run.answers.set(first, issuedAnswer(first, 'FF')),
      failing: [CHECK.issued, CHECK.strays],
      detail: /serial FF is unknown at the CA/,
    },
    {
      name: "an issued serial of another request's seat",
      change: (run) => run.answers.set(first, issuedAnswer(first, 'A2')),
      failing: [CHECK.issued, CHECK.strays],
      detail: /serial A2 belongs to seat soak-2@contoso\.com, not soak-1@contoso\.com/,
    },
    {
      name: 'an issued certificate revoked at the CA',
      change: (run) => (run.certificates[0] = certificate(1, 'A1', 'REVOKED')),
      failing: [CHECK.issued],
      detail: /its certificate A1 REVOKED \(Superseded\)/,
    },
    {
      name: 'a result whose certificate is not the one the CA issued',
      change: (run) => run.answers.set(first, issuedAnswer(first, 'A1', derOf('other'))),
      failing: [CHECK.issued],
      detail: /not the one the CA issued as A1/,
    },
    {
      name: 'two VALID certificates on one seat',
      change: (run) => run.certificates.push(certificate(1, 'B1')),
      failing: [CHECK.oneValid, CHECK.strays],
      detail: /VALID A1, B1; result names A1/,
    },
    {
      name: 'a stray certificate that was revoked',
      change: (run) => run.certificates.push(certificate(1, 'B1', 'REVOKED')),
      failing: [],
      figures: { straysRevoked: 1 },
    },
    {
      name: 'certificates on a seat no request uses',
      change: (run) => run.certificates.push(certificate(9, 'C9', 'REVOKED', 'someone@contoso.com')),
      failing: [CHECK.oneValid],
      detail: /seat "someone@contoso\.com", which no request of the soak uses/,
    },
    {
      name: 'an unhandled error in the host log',
      change: (run) => run.unhandled.push('host 1: Unhandled rejection: boom'),
      failing: [CHECK.crashes],
      detail: /^1× host 1: Unhandled rejection: boom$/,
    },
    {
      name: 'a host that exited by itself',
      change: (run) => run.unexpectedExits.push('host 2 exited by itself (code 1, signal null)'),
      failing: [CHECK.crashes],
    },
    {
      name: 'messages left in the queues',
      change: (run) => (run.leftInQueues = 2),
      failing: [CHECK.drained],
      detail: /^2 message\(s\) left$/,
    },
    {
      name: 'queues that could not be counted',
      change: (run) => (run.leftInQueues = Number.NaN),
      failing: [CHECK.drained],
      detail: /^unknown message\(s\) left$/,
    },
    {
      name: 'a fault rate without any fault injected',
      change: (run) => (run.faultsInjected = 0),
      failing: [CHECK.faults],
    },
    {
      name: 'no faults asked for, none injected',
      change: (run) => {
        run.faultRate = 0;
        run.faultsInjected = 0;
      },
      failing: [],
    },
    {
      name: 'a kill asked for that never came',
      change: (run) => (run.killed = false),
      failing: [CHECK.kill],
      detail: /never reached 2 results/,
    },
    {
      name: 'no kill asked for',
      change: (run) => {
        run.killed = false;
        run.killAsked = false;
      },
      failing: [],
    },
  ];

  it.each(cases)('$name', ({ change, failing, detail, figures }) => {
    const run = cleanRun();
    change(run);
    const report = auditSoak(inputOf(run));
    const failed = report.checks.filter((entry) => !entry.passed);
    expect(failed.map((entry) => entry.name)).toEqual(failing);
    expect(report.passed).toBe(failing.length === 0);
    if (detail !== undefined)
      expect(failed[0]!.details).toEqual(expect.arrayContaining([expect.stringMatching(detail)]));
    if (figures !== undefined) expect(report.figures).toMatchObject(figures);
  });
});
