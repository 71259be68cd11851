/**
 * The simulator's public shapes: how it is started, what it records and counts, and the handle a test or
 * the CLI holds. server.ts re-exports them, so importers keep using '…/simulator/server'.
 */
import type { DevPki } from '../pki/devPki';
import type { FaultQueue } from './faults';
import type { HealthState } from './healthcheck';
import type { StreamedAnswer } from './hostileAnswers';
import type { AccountAudit, IssuedCertificate, SearchReading } from './management';
import type { EcAlgorithmReading, SimulatorProfile } from './profiles';
import type { SimulatorService } from './services';

export interface SimulatorOptions {
  pki: DevPki;
  /** The server's TLS certificate and key instead of the dev PKI's (a test's certificate for another name). */
  tls?: { certPem: string; keyPem: string };
  /** A profile file of your own instead of dev/simulator/profiles.json. */
  profilesFile?: string;
  /** Profiles given directly (wins over profilesFile). */
  profiles?: SimulatorProfile[];
  /**
   * What the EC profiles' algorithmOIDReference names: the key algorithm (id-ecPublicKey) or the signature
   * algorithm (ecdsa-with-SHA256). Absent: as the profiles say (the shipped EC profile: id-ecPublicKey).
   */
  ecAlgorithmReading?: EcAlgorithmReading;
  /** 0 (default) picks a free port. */
  port?: number;
  /** 127.0.0.1 by default. */
  host?: string;
  /** One line per request (method, path, operation, status, duration); no bodies, no secrets. */
  log?: (line: string) => void;
  /** Keep the raw XML of each request in `received` (default true; false keeps '' and the size only). */
  recordBodies?: boolean;
  /** At most this many entries in `received`, the oldest dropped first (default 10,000). */
  maxReceived?: number;
  /** Certificates per searchCertificate answer (default 50), smaller to exercise paging. */
  searchPageSize?: number;
  /**
   * How searchCertificate reads startIndex and certificateCount and whether it sends moreCertificateAvailable
   * (default: 1-based, the page's count, sent): no document says, so tests run the broker under each reading.
   */
  searchReading?: Partial<Omit<SearchReading, 'pageSize'>>;
}

export interface ReceivedRequest {
  service: SimulatorService | 'unknown';
  path: string;
  soapAction?: string;
  contentType?: string;
  /** The raw XML body as received; '' when the simulator runs with recordBodies: false. */
  body: string;
  bodyBytes: number;
  /** Subject of the client (RA) certificate, e.g. `CN=Dev RA, O=Contoso`. */
  clientCertSubject: string;
  time: Date;
}

/** A client (RA) certificate the simulator has seen in a TLS handshake. */
export interface ClientCertificateInfo {
  /** Upper-case hex SHA-1 of the DER (the Windows thumbprint). */
  thumbprint: string;
  thumbprintSha256: string;
  subject: string;
  /** Upper-case hex. */
  serialNumber: string;
}

/** Counters since start or the last reset(). */
export interface SimulatorStats {
  /** Requests to /pki-ws/… by service, including those that met a fault (not those refused for their RA certificate). */
  requests: Record<SimulatorService | 'unknown', number>;
  /**
   * Faults applied, by label: for random ones the mix key (delayBefore, delayAfter, http503, http429, reset,
   * resetAfter, transientSoapFault); for queued ones delayBefore, delayAfter, reset, resetAfter,
   * http<status>, http<status>After, soapFault, hostileBody:<shape>[After], hugeBody[After],
   * slowBody[After], truncate[After] or wrongCertificate:<what>.
   */
  faults: Record<string, number>;
  faultsBySource: { queued: number; random: number };
  /** Requests dropped because the client certificate is refused (refuseClientCertificate). */
  refusedClientCertificateRequests: number;
  /** Certificates issued, and how many are VALID / REVOKED / SUSPENDED now. */
  issued: number;
  valid: number;
  revoked: number;
  suspended: number;
}

export interface Simulator {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** `127.0.0.1:<port>`: what the broker's `certificateAuthority` (and `CA_ALLOWED_HOSTS`) would hold. */
  readonly authority: string;
  readonly received: ReceivedRequest[];
  readonly issued: IssuedCertificate[];
  /** Each hugeBody / slowBody answer once it ended: the bytes handed to the connection before the client left. */
  readonly streamedAnswers: readonly StreamedAnswer[];
  readonly faults: FaultQueue;
  readonly profiles: SimulatorProfile[];
  readonly health: Readonly<HealthState>;
  serviceUrl(service: SimulatorService): string;
  setHealth(status: 'UP' | 'DOWN', message?: string): void;
  /** How searchCertificate pages from now on (the fields given; the others stay). */
  setSearchReading(reading: Partial<Omit<SearchReading, 'pageSize'>>): void;
  /** The search reading in force. */
  readonly searchReading: Readonly<SearchReading>;
  /**
   * Refuses the client certificate with this thumbprint (SHA-1 or SHA-256 hex; colons, spaces and case do
   * not matter): each of its requests to /pki-ws/… is dropped by closing the connection before a byte of
   * answer, and its open connections are closed now. The /__simulator/ admin routes stay reachable.
   */
  refuseClientCertificate(thumbprint: string): void;
  /** Takes a thumbprint off the refused list. */
  acceptClientCertificate(thumbprint: string): void;
  /** Refused thumbprints, normalised (upper-case hex). */
  readonly refusedClientCertificates: readonly string[];
  /** Client certificates seen in handshakes since start (kept across reset()). */
  readonly clientCertificates: readonly ClientCertificateInfo[];
  stats(): SimulatorStats;
  /** The issued certificates grouped by seat id, with counts of VALID / REVOKED / SUSPENDED. */
  accountAudit(): AccountAudit;
  /**
   * Forgets received requests, issued certificates, streamed answers, queued faults, the random fault mode, refused client
   * certificates and the counters; health back to UP.
   */
  reset(): void;
  close(): Promise<void>;
}
