/**
 * Group 4: the whole CertificatePipeline in-process against the simulator over mutual TLS, one request at a
 * time versus four at a time, with one PkiWsClient for the process (as shared/broker.ts keeps it). Each
 * request's time is split at the CA calls, seen through a wrapper around the client: what happens between
 * the policy answer and the enrollment call is planEnrollment, key generation and the CSR.
 */
import { CertificatePipeline } from '../../shared/issuance/pipeline';
import type {
  CaCertificateRecord,
  CertificateSearch,
  DigicertCa,
  EnrollmentRequest,
  EnrollmentResponse,
  HealthStatus,
  ProfilePolicy,
  RevocationReason,
} from '../../shared/digicert/types';
import type { Telemetry } from '../../shared/telemetry/telemetry';
import type { BenchFixture } from '../fixture';
import { formatDuration, formatPercent, formatRatio, roundTo, summaryData, type Section } from '../report';
import { now, ratio, roundOrder, summarize } from '../stats';

type Mark = 'policyStart' | 'policyEnd' | 'enrollStart' | 'enrollEnd';

/** Passes every call on to the shared client and notes when the pipeline's CA calls start and end. */
class PhaseProbe implements DigicertCa {
  readonly marks: Partial<Record<Mark, number>> = {};

  constructor(private readonly ca: DigicertCa) {}

  async getPolicy(caHost: string, profileOid: string): Promise<ProfilePolicy> {
    this.marks.policyStart = now();
    try {
      return await this.ca.getPolicy(caHost, profileOid);
    } finally {
      this.marks.policyEnd = now();
    }
  }

  async enroll(caHost: string, request: EnrollmentRequest): Promise<EnrollmentResponse> {
    this.marks.enrollStart = now();
    try {
      return await this.ca.enroll(caHost, request);
    } finally {
      this.marks.enrollEnd = now();
    }
  }

  getStatus(caHost: string, profileOid?: string): Promise<HealthStatus> {
    return this.ca.getStatus(caHost, profileOid);
  }

  searchCertificates(caHost: string, search: CertificateSearch): Promise<CaCertificateRecord[]> {
    return this.ca.searchCertificates(caHost, search);
  }

  revokeCertificate(
    caHost: string,
    serialNumber: string,
    reason: RevocationReason,
    comment?: string,
  ): Promise<void> {
    return this.ca.revokeCertificate(caHost, serialNumber, reason, comment);
  }
}

const PHASES = ['prepare', 'policy', 'keyAndCsr', 'enroll', 'finish'] as const;
type Phase = (typeof PHASES)[number];

const PHASE_NAMES: Record<Phase, string> = {
  prepare: 'validate request + read recipient',
  policy: 'getPolicy (cached after the first)',
  keyAndCsr: 'plan + RSA 2048 key + CSR',
  enroll: 'enroll: CA round trip (simulator issues)',
  finish: 'token → PFX → password → result',
};

type RequestTiming = Record<Phase | 'total', number>;

const silentTelemetry: Telemetry = {
  trackRequest: () => undefined,
  trackReconciliation: () => undefined,
  flush: async () => undefined,
};

async function processOne(fixture: BenchFixture): Promise<RequestTiming> {
  const probe = new PhaseProbe(fixture.client);
  // A pipeline per request only to see its CA calls apart; it holds no state of its own.
  const pipeline = new CertificatePipeline({
    settings: fixture.settings,
    ca: probe,
    ledger: fixture.ledger,
    telemetry: silentTelemetry,
  });
  const message = JSON.stringify(fixture.requestMessage());
  const started = now();
  const outcome = await pipeline.process(message, { dequeueCount: 1 });
  const ended = now();
  if (outcome.kind !== 'result') {
    throw new Error(`pipeline asked for a retry: ${outcome.error.code}: ${outcome.error.message}`);
  }
  if (outcome.result.status !== 'issued') {
    throw new Error(`pipeline failed: ${outcome.result.error.code}: ${outcome.result.error.message}`);
  }
  const { policyStart, policyEnd, enrollStart, enrollEnd } = probe.marks;
  if (
    policyStart === undefined ||
    policyEnd === undefined ||
    enrollStart === undefined ||
    enrollEnd === undefined
  ) {
    throw new Error('the pipeline issued a certificate without calling getPolicy and enroll once each');
  }
  return {
    total: ended - started,
    prepare: policyStart - started,
    policy: policyEnd - policyStart,
    keyAndCsr: enrollStart - policyEnd,
    enroll: enrollEnd - enrollStart,
    finish: ended - enrollEnd,
  };
}

interface Batch {
  wallMs: number;
  timings: RequestTiming[];
}

async function runBatch(fixture: BenchFixture, count: number, concurrency: number): Promise<Batch> {
  const timings: RequestTiming[] = [];
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < count) {
      started += 1;
      timings.push(await processOne(fixture));
    }
  };
  const begin = now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { wallMs: now() - begin, timings };
}

export interface PipelineBenchOptions {
  rounds: number;
  requestsPerRound: number;
  concurrency: number;
  /** From the other groups, to tell key generation apart from plan + CSR in the phase between CA calls. */
  reference: { keygen2048MedianMs: number; planAndCsrMedianMs: number };
}

export async function benchPipeline(
  fixture: BenchFixture,
  options: PipelineBenchOptions,
  progress: (line: string) => void,
): Promise<Section> {
  const variants = [
    { id: 'sequential', label: 'sequential (1 at a time)', concurrency: 1 },
    {
      id: `concurrency${options.concurrency}`,
      label: `${options.concurrency} at a time`,
      concurrency: options.concurrency,
    },
  ];
  const batches = new Map<string, Batch[]>(variants.map((variant) => [variant.id, []]));
  // Warm-up: fills the policy cache, opens the connection, loads the RA credential.
  await runBatch(fixture, 2, 1);
  for (let round = 0; round < options.rounds; round += 1) {
    for (const variant of roundOrder(variants, round)) {
      batches.get(variant.id)!.push(await runBatch(fixture, options.requestsPerRound, variant.concurrency));
      progress(`pipeline: round ${round + 1}/${options.rounds}, ${variant.label} done`);
    }
  }

  const results = variants.map((variant) => {
    const runs = batches.get(variant.id)!;
    const timings = runs.flatMap((run) => run.timings);
    const wallMs = runs.reduce((sum, run) => sum + run.wallMs, 0);
    const phaseTotals = Object.fromEntries(
      [...PHASES, 'total' as const].map((phase) => [
        phase,
        timings.reduce((sum, timing) => sum + timing[phase], 0),
      ]),
    ) as Record<Phase | 'total', number>;
    return {
      variant,
      requests: timings.length,
      wallMs,
      throughput: (timings.length / wallMs) * 1000,
      latency: summarize(timings.map((timing) => timing.total)),
      phases: Object.fromEntries(
        PHASES.map((phase) => [phase, summarize(timings.map((timing) => timing[phase]))]),
      ) as Record<Phase, ReturnType<typeof summarize>>,
      share: Object.fromEntries(
        PHASES.map((phase) => [phase, phaseTotals[phase] / phaseTotals.total]),
      ) as Record<Phase, number>,
      keyVersusRest: ratio(phaseTotals.keyAndCsr, phaseTotals.total - phaseTotals.keyAndCsr),
    };
  });
  const [sequential, concurrent] = results as [(typeof results)[0], (typeof results)[0]];
  const { keygen2048MedianMs, planAndCsrMedianMs } = options.reference;

  return {
    title: '4. Whole pipeline against the in-process simulator (mutual TLS)',
    tables: [
      {
        columns: ['variant', 'requests', 'wall', 'req/s', 'p50', 'p95', 'req/s ÷ seq', 'p50 ÷ seq'],
        rows: results.map((result) => [
          result.variant.label,
          String(result.requests),
          formatDuration(result.wallMs),
          result.throughput.toFixed(2),
          formatDuration(result.latency.median),
          formatDuration(result.latency.p95),
          formatRatio(ratio(result.throughput, sequential.throughput)),
          formatRatio(ratio(result.latency.median, sequential.latency.median)),
        ]),
      },
      {
        columns: [
          'phase of one request',
          'seq p50',
          'seq p95',
          'seq share',
          `${options.concurrency}× p50`,
          `${options.concurrency}× p95`,
          `${options.concurrency}× share`,
        ],
        rows: [
          ...PHASES.map((phase) => [
            PHASE_NAMES[phase],
            formatDuration(sequential.phases[phase].median),
            formatDuration(sequential.phases[phase].p95),
            formatPercent(sequential.share[phase]),
            formatDuration(concurrent.phases[phase].median),
            formatDuration(concurrent.phases[phase].p95),
            formatPercent(concurrent.share[phase]),
          ]),
          [
            'key phase ÷ all the rest (time)',
            '',
            '',
            formatRatio(sequential.keyVersusRest),
            '',
            '',
            formatRatio(concurrent.keyVersusRest),
          ],
        ],
      },
    ],
    notes: [
      `${options.rounds} rounds of ${options.requestsPerRound} requests per variant, variants alternating; profile "Contoso Intune User" (RSA 2048, e-mail + UPN + GUID SAN), AES256 PFX; one PkiWsClient and cached RA credential throughout, after 2 warm-up requests.`,
      'share = that phase\'s summed time ÷ summed request time. The phases are cut where the pipeline calls the CA; "plan + key + CSR" is the time between the policy answer and the enrollment call.',
      `Of that phase (sequential p50 ${formatDuration(sequential.phases.keyAndCsr.median)}), plan + CSR take ~${formatDuration(planAndCsrMedianMs)} (group 3 medians); an RSA 2048 key alone takes ~${formatDuration(keygen2048MedianMs)} (group 1 median).`,
      'The simulator runs in the same process and issues with forge (pure JavaScript): the enrollment round trip contains its CPU time, which competes with the pipeline for the same cores, most visibly at concurrency.',
    ],
    data: Object.fromEntries(
      results.map((result) => [
        result.variant.id,
        {
          concurrency: result.variant.concurrency,
          requests: result.requests,
          wallMs: roundTo(result.wallMs, 1),
          requestsPerSecond: roundTo(result.throughput, 3),
          throughputRatioToSequential: roundTo(ratio(result.throughput, sequential.throughput), 3),
          p50RatioToSequential: roundTo(ratio(result.latency.median, sequential.latency.median), 3),
          latency: summaryData(result.latency),
          phases: Object.fromEntries(
            PHASES.map((phase) => [
              phase,
              { ...summaryData(result.phases[phase]), share: roundTo(result.share[phase], 4) },
            ]),
          ),
          keyPhaseToRestRatio: roundTo(result.keyVersusRest, 3),
        },
      ]),
    ),
  };
}
