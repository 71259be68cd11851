/**
 * HTTPS to the CA over mutual TLS (undici): allow-list check before any network, one keep-alive Agent per
 * CA host carrying the RA certificate, per-attempt timeouts, and retries with exponential backoff and full
 * jitter for transient failures only. What counts as transient is decided in faults.ts.
 */
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { BrokerError, isBrokerError } from '../contract/errors';
import type { BrokerSettings } from '../config/settings';
import type { RaCredential, RaCredentialSource } from '../ra-credential/types';
import {
  AttemptOutcome,
  CallContext,
  afterAttempts,
  classifyTransportError,
  credentialError,
  interpretHttpAnswer,
  isRaCertificateRejection,
  notAllowedError,
  responseTooLargeError,
} from './faults';
import { PkiWsService, SoapAnswer } from './soap';

export type TransportSettings = Pick<
  BrokerSettings,
  'caAllowedHosts' | 'caConnectTimeoutMs' | 'caRequestTimeoutMs' | 'caMaxAttempts' | 'caRetryBaseDelayMs'
>;

export interface TransportOptions {
  settings: TransportSettings;
  /**
   * The RA credential: a function returning the current one, or a source (which caches it). A new
   * thumbprint rebuilds the agents; when the CA rejects the certificate, the source's invalidate() is called
   * so that a renewed certificate is read on the next call.
   */
  credential: (() => Promise<RaCredential>) | RaCredentialSource;
  /**
   * Extra CA certificates (PEM) to trust besides Node's bundled roots — for tests and the local simulator.
   * When given, trust is `[...tls.rootCertificates, ...extra]`; when absent Node's default store applies
   * (which includes NODE_EXTRA_CA_CERTS).
   */
  extraTrustedCaPem?: string[];
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1): the jitter source. */
  random?: () => number;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Longest wait between attempts (backoff or Retry-After); a longer Retry-After ends the retries. */
  maxRetryDelayMs?: number;
  /** Largest answer read from the CA. */
  maxResponseBytes?: number;
}

export interface SoapCall {
  caHost: string;
  service: PkiWsService;
  soapAction: string;
  envelope: string;
  /** The operation name, for messages (getPolicies, requestSecurityToken, getStatus, …). */
  operation: string;
  profileOid?: string;
}

export interface CaEndpoint {
  hostname: string;
  port: number;
  /** host, or host:port when the port is not 443: what goes into the URL. */
  authority: string;
}

const DEFAULT_PORT = 443;
const HOST_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/;

function parseHost(value: string): CaEndpoint | undefined {
  const match = HOST_PATTERN.exec(value.trim());
  if (match === null) return undefined;
  const hostname = (match[1] ?? '').toLowerCase();
  const port = match[2] === undefined ? DEFAULT_PORT : Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { hostname, port, authority: port === DEFAULT_PORT ? hostname : `${hostname}:${port}` };
}

/**
 * Checks `caHost` (host or host:port, no scheme or path) against the allow-list and returns where to
 * connect. An entry without a port allows that host on 443 only; an entry with a port allows exactly that.
 */
export function resolveCaHost(caHost: string, allowedHosts: readonly string[]): CaEndpoint {
  const endpoint = parseHost(caHost);
  if (endpoint === undefined) {
    throw notAllowedError(
      caHost,
      'is not a host name or host:port (no scheme such as https://, no path, no trailing slash)',
    );
  }
  const allowed = allowedHosts
    .map(parseHost)
    .some(
      (entry) => entry !== undefined && entry.hostname === endpoint.hostname && entry.port === endpoint.port,
    );
  if (!allowed) {
    throw notAllowedError(caHost, `is not in CA_ALLOWED_HOSTS (${allowedHosts.join(', ') || 'empty'})`);
  }
  return endpoint;
}

/** Full jitter: a random delay in [0, min(cap, base · 2^(failedAttempt−1))). */
export function backoffDelayMs(
  failedAttempt: number,
  baseDelayMs: number,
  random: () => number,
  capMs: number,
): number {
  const ceiling = Math.min(capMs, baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * ceiling);
}

/**
 * How long to wait before the next attempt: the CA's Retry-After when it sent one, else the backoff.
 * Undefined when the CA asks for a longer pause than `capMs`: retrying within this invocation is pointless.
 */
export function retryDelayMs(
  failedAttempt: number,
  retryAfterMs: number | undefined,
  baseDelayMs: number,
  random: () => number,
  capMs: number,
): number | undefined {
  if (retryAfterMs !== undefined) return retryAfterMs > capMs ? undefined : retryAfterMs;
  return backoffDelayMs(failedAttempt, baseDelayMs, random, capMs);
}

class ResponseTooLargeError extends Error {}

async function readText(
  body: AsyncIterable<unknown> & { destroy(): unknown },
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > limit) {
      body.destroy();
      throw new ResponseTooLargeError();
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
}

export class PkiWsTransport {
  private readonly settings: TransportSettings;
  private readonly loadCredential: () => Promise<RaCredential>;
  private readonly invalidateCredential: () => void;
  private readonly trustedCas?: string[];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly maxRetryDelayMs: number;
  private readonly maxResponseBytes: number;
  private readonly agents = new Map<string, Agent>();
  private agentsThumbprint?: string;

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
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  }

  /** Sends one SOAP request (with retries) and returns the parsed answer; throws BrokerError. */
  async call(call: SoapCall): Promise<SoapAnswer> {
    const endpoint = resolveCaHost(call.caHost, this.settings.caAllowedHosts);
    const context: CallContext = {
      operation: call.operation,
      caHost: endpoint.authority,
      service: call.service,
    };
    if (call.profileOid !== undefined) context.profileOid = call.profileOid;
    const agent = await this.agentFor(endpoint);
    const url = `https://${endpoint.authority}/pki-ws/${call.service}`;
    const maxAttempts = Math.max(1, this.settings.caMaxAttempts);
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await this.attempt(agent, url, call, context);
      if (outcome.ok) return outcome.answer;
      if (isRaCertificateRejection(outcome.error)) this.invalidateCredential();
      if (!outcome.error.retryable || attempt >= maxAttempts) throw afterAttempts(outcome.error, attempt);
      const delay = retryDelayMs(
        attempt,
        outcome.retryAfterMs,
        this.settings.caRetryBaseDelayMs,
        this.random,
        this.maxRetryDelayMs,
      );
      if (delay === undefined) throw afterAttempts(outcome.error, attempt);
      await this.sleep(delay);
    }
  }

  /** Closes every connection (graceful: requests in flight finish). */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  private async attempt(
    agent: Agent,
    url: string,
    call: SoapCall,
    context: CallContext,
  ): Promise<AttemptOutcome> {
    const signal = AbortSignal.timeout(this.settings.caRequestTimeoutMs);
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: agent,
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
      );
    } catch (cause) {
      if (cause instanceof ResponseTooLargeError) {
        return { ok: false, error: responseTooLargeError(context, this.maxResponseBytes) };
      }
      return {
        ok: false,
        error: classifyTransportError(cause, context, {
          attemptTimedOut: signal.aborted,
          requestTimeoutMs: this.settings.caRequestTimeoutMs,
          connectTimeoutMs: this.settings.caConnectTimeoutMs,
        }),
      };
    }
  }

  private async agentFor(endpoint: CaEndpoint): Promise<Agent> {
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
      for (const agent of stale) agent.close().catch(() => undefined);
    }
    const key = endpoint.authority;
    const existing = this.agents.get(key);
    if (existing !== undefined) return existing;
    const agent = this.createAgent(credential);
    this.agents.set(key, agent);
    return agent;
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
      },
      headersTimeout: this.settings.caRequestTimeoutMs,
      bodyTimeout: this.settings.caRequestTimeoutMs,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
    });
  }
}
