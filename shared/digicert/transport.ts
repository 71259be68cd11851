/**
 * HTTPS to the CA over mutual TLS (undici): allow-list check before any network, one keep-alive Agent per
 * CA host carrying the RA certificate, per-attempt timeouts, and the resilience policies of resilience.ts
 * (retry, circuit breaker per host, bulkhead). What counts as transient is decided in faults/.
 *
 * Enrollment is not idempotent: an attempt that fails after the request was handed to a connected socket
 * (a timeout, a broken connection, a 500 without a fault) ends the call with an ambiguous BrokerError, and
 * is retried only when the request certainly did not reach the CA (no connection, TLS handshake, DNS, a
 * 429/502/503 answer).
 */
import { randomUUID } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { BrokerError, isBrokerError } from '../contract/errors';
import type { BrokerSettings } from '../config/settings';
import { isCaHostAllowed, parseCaHost, type CaEndpoint } from '../contract/caHosts';
import type { RaCredential, RaCredentialSource } from '../ra-credential/types';
import { credentialError, notAllowedError } from './faults/beforeCall';
import { CallContext } from './faults/callContext';
import { AttemptOutcome, interpretHttpAnswer, responseTooLargeError } from './faults/httpAnswer';
import { classifyTransportError } from './faults/network';
import { isInferredRaRejection, isRaCertificateRejection } from './faults/raRejection';
import { ambiguousError, isTransientCaFailure } from './faults/transient';
import { halfOpenCheckError } from './resilienceRefusals';
import { buildGetStatusEnvelope, parseGetStatusResponse } from './health';
import {
  CaResilience,
  CircuitStatus,
  DEFAULT_CIRCUIT_FAILURES,
  DEFAULT_CIRCUIT_HALF_OPEN_MS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED_CALLS,
} from './resilience';
import { PkiWsService, SOAP_ACTIONS, SoapAnswer } from './soap';
import { pinnedServerIdentity } from './tlsPins';
import { readText, ResponseTooLargeError, watchDispatch } from './undiciIo';

export type TransportSettings = Pick<
  BrokerSettings,
  'caAllowedHosts' | 'caConnectTimeoutMs' | 'caRequestTimeoutMs' | 'caMaxAttempts' | 'caRetryBaseDelayMs'
> &
  Partial<Pick<BrokerSettings, 'caCircuitFailures' | 'caCircuitHalfOpenMs' | 'caMaxConcurrency'>> &
  Partial<Pick<BrokerSettings, 'caTlsPins'>>;

export interface TransportOptions {
  settings: TransportSettings;
  /**
   * The RA credential: a function returning the current one, or a source (which caches it). A new
   * thumbprint rebuilds the agents. When the CA rejects the certificate, the source's invalidate() is called
   * and the credential read again; a new thumbprint (a renewed certificate) gets one more try of that call.
   */
  credential: (() => Promise<RaCredential>) | RaCredentialSource;
  /**
   * Extra CA certificates (PEM) to trust besides Node's bundled roots — for tests and the local simulator.
   * When given, trust is `[...tls.rootCertificates, ...extra]`; when absent Node's default store applies
   * (which includes NODE_EXTRA_CA_CERTS).
   */
  extraTrustedCaPem?: string[];
  /** Waits between attempts (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1): the jitter source. */
  random?: () => number;
  /** Milliseconds since the epoch: Retry-After dates and the circuit breaker's pause. */
  now?: () => number;
  /** Longest wait between attempts (backoff or Retry-After); a longer Retry-After ends the retries. */
  maxRetryDelayMs?: number;
  /** Largest answer read from the CA. */
  maxResponseBytes?: number;
  /** Calls that may wait for one of the CA_MAX_CONCURRENCY slots (default 1000); one more fails at once. */
  maxQueuedCalls?: number;
  /** Makes clientTransactionIDs (at most 40 characters), also of the health check before a half-open call. */
  newTransactionId?: () => string;
  /** Told after every attempt (each retry is one), for telemetry; must not throw (what it throws is ignored). */
  onCall?: (call: CaCallReport) => void;
}

/** One attempt at the CA, as reported to TransportOptions.onCall. */
export interface CaCallReport {
  operation: string;
  caHost: string;
  durationMs: number;
  success: boolean;
  /** "200" for an answer, else the BrokerError code. */
  code: string;
}

export interface SoapCall {
  caHost: string;
  service: PkiWsService;
  soapAction: string;
  envelope: string;
  /** The operation name, for messages (getPolicies, requestSecurityToken, getStatus, …). */
  operation: string;
  profileOid?: string;
  /**
   * False for an operation that must not be repeated blindly (enrollment): it is retried only when the
   * request certainly did not reach the CA, and a failure after it was sent is ambiguous. Default true.
   */
  idempotent?: boolean;
}

// The doctor's CA checks take the endpoint type from here, next to resolveCaHost.
export type { CaEndpoint } from '../contract/caHosts';

/**
 * Checks `caHost` (host or host:port, no scheme or path) against the allow-list and returns where to
 * connect. An entry without a port allows that host on 443 only; an entry with a port allows exactly that.
 */
export function resolveCaHost(caHost: string, allowedHosts: readonly string[]): CaEndpoint {
  const endpoint = parseCaHost(caHost);
  if (endpoint === undefined) {
    throw notAllowedError(
      caHost,
      'is not a host name or host:port (no scheme such as https://, no path, no trailing slash)',
    );
  }
  if (!isCaHostAllowed(caHost, allowedHosts)) {
    throw notAllowedError(caHost, `is not in CA_ALLOWED_HOSTS (${allowedHosts.join(', ') || 'empty'})`);
  }
  return endpoint;
}

interface AgentInUse {
  agent: Agent;
  /** The RA certificate the agent presents. */
  thumbprint: string;
}

export class PkiWsTransport {
  private readonly settings: TransportSettings;
  private readonly loadCredential: () => Promise<RaCredential>;
  private readonly invalidateCredential: () => void;
  private readonly trustedCas?: string[];
  private readonly now: () => number;
  private readonly maxResponseBytes: number;
  private readonly newTransactionId: () => string;
  private readonly resilience: CaResilience;
  private readonly agents = new Map<string, Agent>();
  private agentsThumbprint?: string;
  private readonly onCall?: (call: CaCallReport) => void;

  constructor(options: TransportOptions) {
    this.settings = options.settings;
    const credential = options.credential;
    if (typeof credential === 'function') {
      this.loadCredential = credential;
      this.invalidateCredential = () => undefined;
    } else {
      this.loadCredential = () => credential.load();
      this.invalidateCredential = () => credential.invalidate?.();
    }
    if (options.extraTrustedCaPem !== undefined) {
      this.trustedCas = [...rootCertificates, ...options.extraTrustedCaPem];
    }
    this.now = options.now ?? Date.now;
    this.maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
    this.newTransactionId = options.newTransactionId ?? randomUUID;
    this.onCall = options.onCall;
    this.resilience = new CaResilience(
      {
        maxAttempts: Math.max(1, this.settings.caMaxAttempts),
        baseDelayMs: this.settings.caRetryBaseDelayMs,
        maxRetryDelayMs: options.maxRetryDelayMs ?? 30_000,
        circuitFailures: this.settings.caCircuitFailures ?? DEFAULT_CIRCUIT_FAILURES,
        circuitHalfOpenMs: this.settings.caCircuitHalfOpenMs ?? DEFAULT_CIRCUIT_HALF_OPEN_MS,
        maxConcurrency: this.settings.caMaxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
        maxQueuedCalls: options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS,
      },
      {
        sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        random: options.random ?? Math.random,
        now: this.now,
      },
    );
  }

  /** Sends one SOAP request under the resilience policies and returns the parsed answer; throws BrokerError. */
  async call(call: SoapCall): Promise<SoapAnswer> {
    const endpoint = resolveCaHost(call.caHost, this.settings.caAllowedHosts);
    const context: CallContext = {
      operation: call.operation,
      caHost: endpoint.authority,
      service: call.service,
    };
    if (call.profileOid !== undefined) context.profileOid = call.profileOid;
    return this.resilience.run({
      caHost: endpoint.authority,
      context,
      attempt: () => this.attemptWithCredentialRefresh(endpoint, call, context),
      healthCheck: () => this.healthCheck(endpoint, context),
    });
  }

  /** The circuit of a CA host: closed, open (calls refused), half-open (a test call running) or isolated. */
  circuitStatus(caHost: string): CircuitStatus {
    return this.resilience.circuitStatus(resolveCaHost(caHost, this.settings.caAllowedHosts).authority);
  }

  /** CA calls running and waiting for a slot in this process now. */
  load(): { running: number; queued: number } {
    return this.resilience.load();
  }

  /** Closes every connection (graceful: requests in flight finish). */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  /**
   * One attempt; when the CA refuses the RA certificate, the credential is read again and, if it is a new
   * one (renewed in Key Vault), the attempt is made once more with it.
   */
  private async attemptWithCredentialRefresh(
    endpoint: CaEndpoint,
    call: SoapCall,
    context: CallContext,
  ): Promise<SoapAnswer> {
    const first = await this.agentFor(endpoint);
    const outcome = await this.attempt(first.agent, endpoint, call, context);
    if (outcome.ok) return outcome.answer;
    if (!isRaCertificateRejection(outcome.error)) throw outcome.error;
    this.invalidateCredential();
    let renewed: AgentInUse;
    try {
      renewed = await this.agentFor(endpoint);
    } catch {
      // The refusal is what the administrator has to act on, not the failed re-read.
      throw outcome.error;
    }
    if (renewed.thumbprint === first.thumbprint) throw outcome.error;
    const retried = await this.attempt(renewed.agent, endpoint, call, context);
    if (retried.ok) return retried.answer;
    if (isRaCertificateRejection(retried.error)) this.invalidateCredential();
    throw retried.error;
  }

  /** The health operation before the first call through a half-open circuit: passes only when the CA is UP. */
  private async healthCheck(endpoint: CaEndpoint, context: CallContext): Promise<void> {
    const healthContext: CallContext = {
      operation: 'getStatus',
      caHost: endpoint.authority,
      service: 'healthcheckService',
    };
    const answer = await this.attemptWithCredentialRefresh(
      endpoint,
      {
        caHost: endpoint.authority,
        service: 'healthcheckService',
        soapAction: SOAP_ACTIONS.getStatus,
        envelope: buildGetStatusEnvelope(this.newTransactionId()),
        operation: 'getStatus',
      },
      healthContext,
    );
    const status = parseGetStatusResponse(answer.body, healthContext);
    if (!status.up) throw halfOpenCheckError(context, status.message);
  }

  /** One attempt, reported to onCall with its duration and outcome. */
  private async attempt(
    agent: Agent,
    endpoint: CaEndpoint,
    call: SoapCall,
    context: CallContext,
  ): Promise<AttemptOutcome> {
    const started = performance.now();
    const outcome = await this.attemptOnce(agent, endpoint, call, context);
    try {
      this.onCall?.({
        operation: call.operation,
        caHost: endpoint.authority,
        durationMs: performance.now() - started,
        success: outcome.ok,
        code: outcome.ok ? '200' : outcome.error.code,
      });
    } catch {
      // Telemetry never changes the outcome of a CA call.
    }
    return outcome;
  }

  private async attemptOnce(
    agent: Agent,
    endpoint: CaEndpoint,
    call: SoapCall,
    context: CallContext,
  ): Promise<AttemptOutcome> {
    const idempotent = call.idempotent !== false;
    const signal = AbortSignal.timeout(this.settings.caRequestTimeoutMs);
    let dispatched = false;
    const dispatcher = agent.compose(
      watchDispatch(() => {
        dispatched = true;
      }),
    );
    try {
      const response = await request(`https://${endpoint.authority}/pki-ws/${call.service}`, {
        method: 'POST',
        dispatcher,
        signal,
        headers: {
          'content-type': 'text/xml; charset=utf-8',
          accept: 'text/xml',
          soapaction: `"${call.soapAction}"`,
        },
        body: call.envelope,
      });
      const bodyText = await readText(response.body, this.maxResponseBytes);
      // undici hands the connection back to its pool one tick after the body ends; without this pause a call
      // made right after this one would open (and handshake) a second connection.
      await new Promise((resolve) => setImmediate(resolve));
      return interpretHttpAnswer(
        { status: response.statusCode, headers: response.headers, bodyText },
        context,
        this.now(),
        { idempotent },
      );
    } catch (cause) {
      if (cause instanceof ResponseTooLargeError) {
        return { ok: false, error: responseTooLargeError(context, this.maxResponseBytes) };
      }
      const failed = classifyTransportError(cause, context, {
        attemptTimedOut: signal.aborted,
        requestTimeoutMs: this.settings.caRequestTimeoutMs,
        connectTimeoutMs: this.settings.caConnectTimeoutMs,
      });
      if (!idempotent && dispatched) {
        if (isInferredRaRejection(failed)) {
          // A hang-up without a byte of answer after the request went out: a refused RA certificate, or a CA
          // that failed mid-request. Which one is not known, so nothing is resent; the next call re-reads
          // the credential, and asking the CA (searchCertificate) settles whether it issued.
          this.invalidateCredential();
          return { ok: false, error: ambiguousError(failed) };
        }
        if (isTransientCaFailure(failed)) return { ok: false, error: ambiguousError(failed) };
      }
      return { ok: false, error: failed };
    }
  }

  private async agentFor(endpoint: CaEndpoint): Promise<AgentInUse> {
    let credential: RaCredential;
    try {
      credential = await this.loadCredential();
    } catch (cause) {
      throw isBrokerError(cause) ? cause : credentialError(cause);
    }
    if (credential.thumbprint !== this.agentsThumbprint) {
      // A renewed RA certificate: connections made with the old one must not be reused.
      const stale = [...this.agents.values()];
      this.agents.clear();
      this.agentsThumbprint = credential.thumbprint;
      // Not awaited: close() lets the requests in flight on an old agent finish, and they report their own
      // outcome. It rejects only for an agent destroyed already (ClientDestroyedError): nothing left to close.
      for (const agent of stale) agent.close().catch(() => undefined);
    }
    const key = endpoint.authority;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = this.createAgent(credential);
      this.agents.set(key, agent);
    }
    return { agent, thumbprint: credential.thumbprint };
  }

  private createAgent(credential: RaCredential): Agent {
    if (credential.privateKeyPem.trim() === '' || credential.certificatePem.trim() === '') {
      throw new BrokerError(
        'RA_CERT_UNAVAILABLE',
        `the RA credential from ${credential.source} has no key or certificate`,
      );
    }
    return new Agent({
      connect: {
        // key + cert (one chain: leaf then intermediates), never pfx: a pfx holding CA certificates would
        // replace the trust store of the connection (toolchain-notes §8).
        key: credential.privateKeyPem,
        cert: [credential.certificatePem, ...credential.chainPem].map((pem) => pem.trim()).join('\n'),
        ...(this.trustedCas === undefined ? {} : { ca: this.trustedCas }),
        timeout: this.settings.caConnectTimeoutMs,
        minVersion: 'TLSv1.2',
        ...pinnedServerIdentity(this.settings.caTlsPins),
      },
      headersTimeout: this.settings.caRequestTimeoutMs,
      bodyTimeout: this.settings.caRequestTimeoutMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
    });
  }
}
