/**
 * SidOwnershipCheck against Microsoft Graph: `GET {GRAPH_BASE_URL}/v1.0/users/{upn}?$select=onPremisesSecurityIdentifier`
 * with a token of the Function App's managed identity (`new DefaultAzureCredential()`, as for Key Vault;
 * locally IDENTITY_ENDPOINT/IDENTITY_HEADER point it at the Key Vault stand-in's identity endpoint). The
 * identity needs the Graph application permission User.Read.All. One attempt per delivery with a timeout:
 * a Graph outage is waited out by the queue, like a Key Vault outage.
 */
import { rootCertificates } from 'node:tls';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { Agent, request } from 'undici';
import type { ResolvedAddress } from '../mapping';
import { isLoopbackUrl } from '../ra-credential';
import {
  noUpnToCheck,
  sidOwnershipRefusal,
  type DirectoryUserLookup,
  type SidOwnershipCheck,
} from './sidOwnership';

/** The audience of Graph tokens in the global cloud (and for a loopback stand-in). */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** One Graph call, as reported to GraphSidCheckOptions.onCall: nothing personal (no UPN, no SID). */
export interface GraphCallReport {
  operation: 'getUser';
  graphHost: string;
  durationMs: number;
  success: boolean;
  /** The HTTP status, or the error code when there was no answer. */
  code: string;
}

export interface GraphSidCheckOptions {
  /** GRAPH_BASE_URL, e.g. https://graph.microsoft.com */
  baseUrl: string;
  /** Defaults to `new DefaultAzureCredential()` (the managed identity in Azure). */
  credential?: TokenCredential;
  /** Time for the token and for the Graph call, each. Default 10 s. */
  timeoutMs?: number;
  /**
   * TEST ONLY: a CA (PEM) to trust for Graph's TLS certificate besides Node's roots (tests run in jest's
   * process, where NODE_EXTRA_CA_CERTS cannot be set any more). Never set from settings.
   */
  trustedCaPemForTests?: string;
  /** Told after every Graph call, for telemetry; must not throw (what it throws is ignored). */
  onCall?: (call: GraphCallReport) => void;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function errorName(error: unknown): string {
  const code = field(error, 'code');
  if (typeof code === 'string') return code;
  const name = field(error, 'name');
  return typeof name === 'string' ? name : 'Error';
}

/** The first line of an error's message (credential and network errors name no user). */
function firstLine(error: unknown, max = 300): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** The `error.code` of a Graph error body, if it has one. */
function graphErrorCode(bodyText: string): string | undefined {
  try {
    const code = field(field(JSON.parse(bodyText), 'error'), 'code');
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

export class GraphSidOwnershipCheck implements SidOwnershipCheck {
  private readonly baseUrl: string;
  private readonly scope: string;
  private readonly credential: TokenCredential;
  private readonly timeoutMs: number;
  private readonly agent: Agent;
  private readonly onCall?: (call: GraphCallReport) => void;

  constructor(options: GraphSidCheckOptions) {
    this.baseUrl = new URL(options.baseUrl).origin;
    // National clouds have their own Graph audience; a loopback stand-in takes the global one.
    this.scope = isLoopbackUrl(this.baseUrl) ? GRAPH_SCOPE : `${this.baseUrl}/.default`;
    this.credential = options.credential ?? new DefaultAzureCredential();
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.onCall = options.onCall;
    this.agent = new Agent({
      connect: {
        timeout: this.timeoutMs,
        minVersion: 'TLSv1.2',
        ...(options.trustedCaPemForTests === undefined
          ? {}
          : { ca: [...rootCertificates, options.trustedCaPemForTests] }),
      },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  async verify(upn: ResolvedAddress | undefined, sid: string): Promise<void> {
    if (upn === undefined) throw noUpnToCheck();
    const refusal = sidOwnershipRefusal(await this.lookUp(upn.value), sid, upn, this.baseUrl);
    if (refusal !== undefined) throw refusal;
  }

  /** The user's onPremisesSecurityIdentifier, or why Graph did not give it. Never throws. */
  async lookUp(upn: string): Promise<DirectoryUserLookup> {
    let token: string;
    try {
      const access = await this.credential.getToken(this.scope, {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      if (access === null) throw new Error('the credential returned no token');
      token = access.token;
    } catch (error) {
      const detail = `${errorName(error)}: ${firstLine(error)}`;
      return { kind: 'no-token', detail, transient: /network|timed? ?out|ECONN|abort/i.test(detail) };
    }
    const url = `${this.baseUrl}/v1.0/users/${encodeURIComponent(upn)}?$select=onPremisesSecurityIdentifier`;
    const started = performance.now();
    let status: number;
    let bodyText: string;
    try {
      const response = await request(url, {
        method: 'GET',
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
      status = response.statusCode;
      bodyText = await response.body.text();
    } catch (error) {
      this.report(started, false, errorName(error));
      return { kind: 'unreachable', detail: `${errorName(error)}: ${firstLine(error)}` };
    }
    this.report(started, status === 200, String(status));
    if (status !== 200) {
      const code = graphErrorCode(bodyText);
      return code === undefined ? { kind: 'answer', status } : { kind: 'answer', status, code };
    }
    let sid: unknown;
    try {
      sid = field(JSON.parse(bodyText), 'onPremisesSecurityIdentifier');
    } catch {
      return { kind: 'unreachable', detail: '200 with a body that is not JSON' };
    }
    return { kind: 'user', onPremisesSecurityIdentifier: typeof sid === 'string' ? sid : null };
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private report(started: number, success: boolean, code: string): void {
    try {
      this.onCall?.({
        operation: 'getUser',
        graphHost: new URL(this.baseUrl).host,
        durationMs: performance.now() - started,
        success,
        code,
      });
    } catch {
      // Telemetry never changes the outcome of a check.
    }
  }
}
