/**
 * The way to an allowed CA host, step by step as the broker meets it: DNS, TCP + TLS (the CA's server
 * certificate trusted, issued for that name), and the mutual-TLS handshake (the CA accepts the RA certificate).
 */
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { connect, rootCertificates, type ConnectionOptions } from 'node:tls';
import { Agent, request } from 'undici';
import { BrokerError } from '../../contract/errors';
import type { CallContext } from '../../digicert/faults/callContext';
import { classifyTransportError } from '../../digicert/faults/network';
import { pinnedServerIdentity } from '../../digicert/tlsPins';
import type { CaEndpoint } from '../../digicert/transport';
import type { RaCredential } from '../../ra-credential/types';
import { daysBetween, errorText, failureOutcome, withRow } from '../outcomes';
import type { CheckOutcome, DoctorContext } from '../types';
import { bareHostname, endpointOf } from './caEndpoint';

const FQDN_REMEDY = (host: string): string =>
  `Check the CA FQDN: CA_ALLOWED_HOSTS and the Intune profile's certification authority must name the PKI-WS host of your DigiCert account (such as pki-ws.symauth.com, port 443; DigiCert support can confirm it). Now "${host}".`;

function trustedCas(context: DoctorContext): string[] | undefined {
  const extra = context.options.trustedCaPemForTests;
  return extra === undefined ? undefined : [...rootCertificates, ...extra];
}

function distinguishedName(text: string): string {
  return text.split('\n').reverse().join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// DNS

export async function checkDns(context: DoctorContext, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  const name = bareHostname(endpoint);
  if (isIP(name) !== 0) return { status: 'pass', detail: `${name} is an IP address: nothing to resolve` };
  try {
    const addresses = await lookup(name, { all: true });
    return {
      status: 'pass',
      detail: `${name} resolves to ${addresses.map((address) => address.address).join(', ')}`,
      data: { addresses: addresses.map((address) => address.address) },
    };
  } catch (error) {
    return withRow(
      {
        status: 'fail',
        detail: `DNS cannot resolve the CA host name "${name}" (${errorText(error)})`,
        remedy: `${FQDN_REMEDY(host)} If the name is right, check the DNS the Function App uses (VNet DNS servers, private DNS zones).`,
        errorCode: 'CA_UNAVAILABLE',
      },
      { id: 'secure-channel', case: 2 },
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// TLS

type HandshakeResult =
  | { kind: 'connected'; protocol: string; server: X509Certificate | undefined }
  | { kind: 'error'; error: unknown }
  | { kind: 'timeout' };

function handshake(
  endpoint: CaEndpoint,
  options: { ca?: string[]; credential?: RaCredential; timeoutMs: number; pins?: readonly string[] },
): Promise<HandshakeResult> {
  const name = bareHostname(endpoint);
  return new Promise((resolve) => {
    let settled = false;
    const connection: ConnectionOptions = {
      host: name,
      port: endpoint.port,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      // As the transport connects: TLS 1.2 at least, and CA_TLS_PINS when set.
      minVersion: 'TLSv1.2',
      ...pinnedServerIdentity(options.pins),
      // As the broker connects: key and certificate chain, never a PFX (it would replace the trust store).
      ...(options.credential === undefined
        ? {}
        : {
            key: options.credential.privateKeyPem,
            cert: [options.credential.certificatePem, ...options.credential.chainPem]
              .map((pem) => pem.trim())
              .join('\n'),
          }),
    };
    const socket = connect(connection);
    const finish = (result: HandshakeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), options.timeoutMs);
    socket.once('secureConnect', () =>
      finish({
        kind: 'connected',
        protocol: socket.getProtocol() ?? 'TLS',
        server: socket.getPeerX509Certificate(),
      }),
    );
    // After secureConnect a TLS 1.3 server may still refuse the client certificate: not this check's concern.
    socket.on('error', (error) => finish({ kind: 'error', error }));
  });
}

function describeServerCertificate(certificate: X509Certificate, now: Date): string {
  const notAfter = new Date(certificate.validTo);
  return `server certificate ${distinguishedName(certificate.subject)}, issued by ${distinguishedName(certificate.issuer)}, valid until ${notAfter.toISOString()} (${daysBetween(now, notAfter)} days)`;
}

const CLIENT_CERTIFICATE_ALERT =
  /_ALERT_(?:BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|HANDSHAKE_FAILURE|ACCESS_DENIED)$/;

function transportContext(endpoint: CaEndpoint, operation: string): CallContext {
  return { operation, caHost: endpoint.authority, service: 'healthcheckService' };
}

export async function checkTls(context: DoctorContext, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  const settings = context.settings!;
  const result = await handshake(endpoint, {
    ca: trustedCas(context),
    credential: context.raCredential,
    timeoutMs: settings.caConnectTimeoutMs,
    pins: settings.caTlsPins,
  });
  if (result.kind === 'connected') {
    const server =
      result.server === undefined
        ? 'server certificate trusted'
        : describeServerCertificate(result.server, context.now());
    return {
      status: 'pass',
      detail: `${result.protocol} to ${endpoint.authority}: ${server}; trusted and issued for ${bareHostname(endpoint)}`,
      data: {
        protocol: result.protocol,
        serverSubject: result.server === undefined ? null : distinguishedName(result.server.subject),
        serverIssuer: result.server === undefined ? null : distinguishedName(result.server.issuer),
      },
    };
  }
  if (result.kind === 'timeout') {
    return withRow(
      {
        status: 'fail',
        detail: `no TLS connection to the CA host ${endpoint.authority} within ${settings.caConnectTimeoutMs} ms (CA_CONNECT_TIMEOUT_MS)`,
        remedy: `Check that the Function App may reach ${endpoint.authority} (outbound firewall, NSG, proxy); if the CA is only slow, raise CA_CONNECT_TIMEOUT_MS (the connector's CloudCAConnTimeoutInMilliseconds).`,
        errorCode: 'CA_TIMEOUT',
      },
      { id: 'policy-timeout' },
    );
  }
  const code = (result.error as { code?: unknown }).code;
  if (typeof code === 'string' && CLIENT_CERTIFICATE_ALERT.test(code)) {
    return {
      status: 'warn',
      detail: `the CA host ${endpoint.authority} ended the TLS handshake over the client certificate (${code}) before its own certificate could be confirmed; the mutual-TLS check tells more`,
    };
  }
  const failed = classifyTransportError(result.error, transportContext(endpoint, 'TLS handshake'), {
    attemptTimedOut: false,
    requestTimeoutMs: settings.caRequestTimeoutMs,
    connectTimeoutMs: settings.caConnectTimeoutMs,
  });
  if (code === 'ECONNREFUSED') {
    return withRow(
      {
        status: 'fail',
        detail: `nothing accepts connections at the CA host ${endpoint.authority} (${errorText(result.error)})`,
        remedy: `${FQDN_REMEDY(host)} Check that the CA is reachable from the Function App on port ${endpoint.port} (outbound firewall, NSG, proxy).`,
        errorCode: failed.code,
      },
      { id: 'secure-channel', case: 2 },
    );
  }
  if (failed.code === 'CA_TLS_FAILED') {
    const untrusted = /not trusted/.test(failed.message);
    return withRow(
      {
        status: 'fail',
        detail: untrusted
          ? `the CA host ${endpoint.authority} presented a server certificate that is not trusted (${errorText(result.error)})`
          : failed.message,
        remedy: untrusted
          ? `Make sure ${endpoint.authority} is DigiCert's PKI-WS host for your account: its server certificate must chain to a root this host trusts (DigiCert's are in Node's store), and nothing between the broker and DigiCert may intercept TLS. For a private or test CA add its root with NODE_EXTRA_CA_CERTS; TLS verification is never turned off.`
          : failed.remedy,
        errorCode: failed.code,
      },
      { id: 'secure-channel', case: 2 },
    );
  }
  return failureOutcome(failed, { row: { id: 'secure-channel', case: 2 } });
}

// ---------------------------------------------------------------------------------------------------------
// Mutual TLS

/** Statuses by which a TLS-terminating front end refuses a client certificate. */
const CLIENT_CERTIFICATE_REFUSED = new Set([401, 403, 495, 496]);

export async function checkMutualTls(context: DoctorContext, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  const settings = context.settings!;
  const credential = context.raCredential;
  if (credential === undefined) throw new Error('the RA certificate was not loaded');
  const ca = trustedCas(context);
  const agent = new Agent({
    connect: {
      key: credential.privateKeyPem,
      cert: [credential.certificatePem, ...credential.chainPem].map((pem) => pem.trim()).join('\n'),
      ...(ca === undefined ? {} : { ca }),
      timeout: settings.caConnectTimeoutMs,
      minVersion: 'TLSv1.2',
      ...pinnedServerIdentity(settings.caTlsPins),
    },
    headersTimeout: settings.caRequestTimeoutMs,
    bodyTimeout: settings.caRequestTimeoutMs,
  });
  const path = '/pki-ws/healthcheckService';
  const callContext = transportContext(endpoint, 'mutual-TLS handshake');
  const signal = AbortSignal.timeout(settings.caRequestTimeoutMs);
  try {
    // Any HTTP answer means the CA took the RA certificate in the handshake; a refusal is an alert or a
    // hang-up before the first byte (TLS 1.3), or a 401/403/495/496 from a front end.
    const response = await request(`https://${endpoint.authority}${path}`, {
      method: 'GET',
      dispatcher: agent,
      signal,
    });
    await response.body.dump();
    if (CLIENT_CERTIFICATE_REFUSED.has(response.statusCode)) {
      const refused = new BrokerError(
        'CA_TLS_FAILED',
        `DigiCert mutual-TLS handshake at ${endpoint.authority} failed: the CA refused the RA certificate ${credential.thumbprint} (${credential.subject}) with HTTP ${response.statusCode}`,
      );
      return withRow(
        {
          status: 'fail',
          detail: refused.message,
          remedy: RA_REFUSED_REMEDY,
          errorCode: refused.code,
        },
        { id: 'secure-channel', case: 3 },
      );
    }
    return {
      status: 'pass',
      detail: `the CA accepted the RA certificate ${credential.subject} (${credential.thumbprint}): HTTP ${response.statusCode} to GET ${path}`,
      data: { httpStatus: response.statusCode },
    };
  } catch (error) {
    const failed = classifyTransportError(error, callContext, {
      attemptTimedOut: signal.aborted,
      requestTimeoutMs: settings.caRequestTimeoutMs,
      connectTimeoutMs: settings.caConnectTimeoutMs,
    });
    return failureOutcome(failed);
  } finally {
    // close() fails only when the agent was destroyed already: its sockets are closed then, nothing is left.
    await agent.close().catch(() => undefined);
  }
}

const RA_REFUSED_REMEDY =
  'DigiCert did not accept the RA certificate. Use the RA certificate DigiCert issued for this account (RA_CERTIFICATE_NAME, or RA_CERT_THUMBPRINT if pinned) with its private key, client-authentication EKU, neither expired nor revoked, and check that CA_ALLOWED_HOSTS names the DigiCert host of that account.';
