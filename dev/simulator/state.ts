/**
 * What the simulator knows and may change while it runs: its settings, the requests it received, the
 * certificates it issued, the fault plan, health, the search reading, refused client certificates and the
 * counters. No sockets and no HTTP here: the routes read and change this state, server.ts starts the server.
 */
import { X509Certificate } from 'node:crypto';
import type { ClientCertificateInfo, ReceivedRequest, SimulatorOptions, SimulatorStats } from './api';
import type { ChosenFault } from './faults';
import { FaultQueue } from './faults';
import type { StreamedAnswer } from './hostileAnswers';
import type { HealthState } from './healthcheck';
import { prepareIssuingAuthority, type IssuingAuthority } from './issuer';
import {
  accountAudit,
  DEFAULT_SEARCH_PAGE_SIZE,
  DEFAULT_SEARCH_READING,
  type AccountAudit,
  type IssuedCertificate,
  type SearchReading,
} from './management';
import type { PolicyCa } from './policy';
import { defaultProfiles, loadProfilesFile, withEcAlgorithmReading, type SimulatorProfile } from './profiles';
import type { SimulatorService } from './services';

const DEFAULT_MAX_RECEIVED = 10_000;
const UP_MESSAGE = 'The PKI-WS simulator is up and accepting enrollments.';
const DOWN_MESSAGE = 'The PKI-WS simulator is down for maintenance.';

/** The options, checked and resolved once at start. */
export interface SimulatorSettings {
  profiles: SimulatorProfile[];
  /** Parsed once: issuing stays ~1–2 ms per certificate (soak tests enroll by the thousand). */
  issuingAuthority: IssuingAuthority;
  /** The CA certificates and name the policy service answers with (the enrollment URL is added once listening). */
  policyCa: Omit<PolicyCa, 'enrollmentUrl'>;
  recordBodies: boolean;
  maxReceived: number;
  searchReading: SearchReading;
}

type SearchReadingChange = Partial<Omit<SearchReading, 'pageSize'>>;

interface Counters {
  requests: Record<SimulatorService | 'unknown', number>;
  faults: Record<string, number>;
  faultsBySource: { queued: number; random: number };
  refusedRequests: number;
}

function pemToDerBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** Upper-case hex of a SHA-1 (40) or SHA-256 (64) thumbprint, or undefined when it is neither. */
export function normalizeThumbprint(thumbprint: string): string | undefined {
  const hex = thumbprint.replace(/[\s:]/g, '').toUpperCase();
  return /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/.test(hex) ? hex : undefined;
}

function requireThumbprint(thumbprint: string): string {
  const normalized = normalizeThumbprint(thumbprint);
  if (normalized === undefined) {
    throw new TypeError(
      `"${thumbprint}" is not a certificate thumbprint (40 hex digits for SHA-1, 64 for SHA-256)`,
    );
  }
  return normalized;
}

/** The reading in force with `change` applied; a TypeError names a bad field. The page size stays. */
function changedSearchReading(current: SearchReading, change: SearchReadingChange): SearchReading {
  const next = { ...current, ...change, pageSize: current.pageSize };
  if (next.startIndexBase !== 0 && next.startIndexBase !== 1) {
    throw new TypeError('searchReading.startIndexBase must be 0 or 1');
  }
  if (next.certificateCount !== 'page' && next.certificateCount !== 'total') {
    throw new TypeError('searchReading.certificateCount must be "page" or "total"');
  }
  if (typeof next.moreFlag !== 'boolean') throw new TypeError('searchReading.moreFlag must be true or false');
  return next;
}

/** Checks and resolves the options; the TypeErrors name the bad option. */
export function readSettings(options: SimulatorOptions): SimulatorSettings {
  const { pki } = options;
  const given =
    options.profiles ??
    (options.profilesFile !== undefined ? loadProfilesFile(options.profilesFile) : defaultProfiles());
  const profiles =
    options.ecAlgorithmReading === undefined
      ? given
      : withEcAlgorithmReading(given, options.ecAlgorithmReading);
  const issuingAuthority = prepareIssuingAuthority(pki.caIssuing, pki.caRoot);
  const maxReceived = options.maxReceived ?? DEFAULT_MAX_RECEIVED;
  if (!Number.isInteger(maxReceived) || maxReceived < 0) {
    throw new TypeError('startPkiWsSimulator: maxReceived must be a whole number ≥ 0');
  }
  const pageSize = options.searchPageSize ?? DEFAULT_SEARCH_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new TypeError('startPkiWsSimulator: searchPageSize must be a whole number ≥ 1');
  }
  const searchReading = changedSearchReading(
    { ...DEFAULT_SEARCH_READING, pageSize },
    options.searchReading ?? {},
  );
  return {
    profiles,
    issuingAuthority,
    policyCa: {
      issuingCaDerBase64: pemToDerBase64(pki.caIssuing.certPem),
      rootCaDerBase64: pemToDerBase64(pki.caRoot.certPem),
      issuerName: new X509Certificate(pki.caIssuing.certPem).subject.split('\n').join(', '),
    },
    recordBodies: options.recordBodies ?? true,
    maxReceived,
    searchReading,
  };
}

function emptyCounters(): Counters {
  return {
    requests: {
      policyService: 0,
      enrollmentService: 0,
      healthcheckService: 0,
      certificateManagementService: 0,
      unknown: 0,
    },
    faults: {},
    faultsBySource: { queued: 0, random: 0 },
    refusedRequests: 0,
  };
}

export class SimulatorState {
  readonly profiles: SimulatorProfile[];
  readonly issuingAuthority: IssuingAuthority;
  readonly recordBodies: boolean;
  readonly received: ReceivedRequest[] = [];
  readonly issued: IssuedCertificate[] = [];
  /** What each hugeBody / slowBody answer sent before it ended (cleared by reset()). */
  readonly streamedAnswers: StreamedAnswer[] = [];
  readonly faults = new FaultQueue();
  readonly health: HealthState = { status: 'UP', message: UP_MESSAGE };
  private readonly maxReceived: number;
  private readonly policyCaCertificates: Omit<PolicyCa, 'enrollmentUrl'>;
  private enrollmentUrl = '';
  private reading: SearchReading;
  private readonly refused = new Set<string>();
  /** Kept across reset(): the certificates clients have shown, by SHA-1 thumbprint. */
  private readonly seenClients = new Map<string, ClientCertificateInfo>();
  private counters = emptyCounters();
  private transactionCounter = 0;

  constructor(settings: SimulatorSettings) {
    this.profiles = settings.profiles;
    this.issuingAuthority = settings.issuingAuthority;
    this.recordBodies = settings.recordBodies;
    this.maxReceived = settings.maxReceived;
    this.policyCaCertificates = settings.policyCa;
    this.reading = settings.searchReading;
  }

  /** Set once the server listens: the policy service names the enrollment URL. */
  setBaseUrl(baseUrl: string): void {
    this.enrollmentUrl = `${baseUrl}/pki-ws/enrollmentService`;
  }

  get policyCa(): PolicyCa {
    return { ...this.policyCaCertificates, enrollmentUrl: this.enrollmentUrl };
  }

  nextServerTransactionId(): string {
    return `S-${Math.floor(Date.now() / 1000)}-${String(++this.transactionCounter).padStart(4, '0')}`;
  }

  setHealth(status: 'UP' | 'DOWN', message?: string): void {
    this.health.status = status;
    this.health.message = message ?? (status === 'UP' ? UP_MESSAGE : DOWN_MESSAGE);
  }

  /** The reading in force (the object itself: read it, do not change it). */
  get searchReading(): SearchReading {
    return this.reading;
  }

  setSearchReading(change: SearchReadingChange): void {
    this.reading = changedSearchReading(this.reading, change);
  }

  /** Counts the request and keeps it in `received` (the oldest dropped beyond maxReceived). */
  record(entry: ReceivedRequest): void {
    this.counters.requests[entry.service] += 1;
    if (this.maxReceived === 0) return;
    this.received.push(entry);
    if (this.received.length > this.maxReceived) {
      this.received.splice(0, this.received.length - this.maxReceived);
    }
  }

  countFault(chosen: ChosenFault): void {
    this.counters.faults[chosen.label] = (this.counters.faults[chosen.label] ?? 0) + 1;
    this.counters.faultsBySource[chosen.source] += 1;
  }

  countRefusedRequest(): void {
    this.counters.refusedRequests += 1;
  }

  noteClient(client: ClientCertificateInfo): void {
    if (!this.seenClients.has(client.thumbprint)) this.seenClients.set(client.thumbprint, client);
  }

  get clientCertificates(): ClientCertificateInfo[] {
    return [...this.seenClients.values()];
  }

  refuse(thumbprint: string): void {
    this.refused.add(requireThumbprint(thumbprint));
  }

  accept(thumbprint: string): void {
    this.refused.delete(requireThumbprint(thumbprint));
  }

  get refusedThumbprints(): string[] {
    return [...this.refused];
  }

  isRefused(client: ClientCertificateInfo | undefined): boolean {
    return (
      client !== undefined &&
      (this.refused.has(client.thumbprint) || this.refused.has(client.thumbprintSha256))
    );
  }

  accountAudit(): AccountAudit {
    return accountAudit(this.issued);
  }

  stats(): SimulatorStats {
    const audit = this.accountAudit();
    return {
      requests: { ...this.counters.requests },
      faults: { ...this.counters.faults },
      faultsBySource: { ...this.counters.faultsBySource },
      refusedClientCertificateRequests: this.counters.refusedRequests,
      issued: audit.certificates,
      valid: audit.valid,
      revoked: audit.revoked,
      suspended: audit.suspended,
    };
  }

  /** Forgets all but the settings, the client certificates seen and the transaction counter; health back to UP. */
  reset(): void {
    this.received.length = 0;
    this.issued.length = 0;
    this.streamedAnswers.length = 0;
    this.faults.clear();
    this.faults.setRandom(undefined);
    this.refused.clear();
    this.counters = emptyCounters();
    this.setHealth('UP');
  }
}
