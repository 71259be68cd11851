/**
 * Each allowed CA host, step by step as the broker meets it: DNS, TCP + TLS (the CA's server certificate
 * trusted, issued for that name), the mutual-TLS handshake (the CA accepts the RA certificate), the health
 * operation (getStatus UP), and the policy of each configured profile OID.
 */
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { connect, rootCertificates, type ConnectionOptions } from 'node:tls';
import { Agent, request } from 'undici';
import { BrokerError, DEFAULT_REMEDIES } from '../../contract/errors';
import { caDownError } from '../../digicert/faults/answerContent';
import type { CallContext } from '../../digicert/faults/callContext';
import { classifyTransportError } from '../../digicert/faults/network';
import { resolveCaHost, type CaEndpoint } from '../../digicert/transport';
import type { RaCredential } from '../../ra-credential/types';
import { policyCaCertificates } from '../caCertificates';
import { daysBetween, errorText, failureOutcome, withRow } from '../outcomes';
import { describeSidField, describeVariable, summarizeProfile, unfillableRemedy } from '../profileSummary';
import type { CheckOutcome, DoctorCheck, DoctorContext, JsonValue } from '../types';
import { RA_CERTIFICATE_CHECK_ID } from './raChecks';
import { SETTINGS_CHECK_ID } from './settingsCheck';

export const caDnsCheckId = (host: string): string => `ca-dns:${host}`;
export const caTlsCheckId = (host: string): string => `ca-tls:${host}`;
export const caMutualTlsCheckId = (host: string): string => `ca-mtls:${host}`;
export const caHealthCheckId = (host: string): string => `ca-health:${host}`;
export const policyCheckId = (profileOid: string, host: string): string => `policy:${profileOid}@${host}`;

const FQDN_REMEDY = (host: string): string =>
  `Check the CA FQDN: CA_ALLOWED_HOSTS and the Intune profile's certification authority must name the PKI-WS host of your DigiCert account (such as pki-ws.symauth.com, port 443; DigiCert support can confirm it). Now "${host}".`;

function endpointOf(context: DoctorContext, host: string): CaEndpoint {
  const settings = context.settings;
  if (settings === undefined) throw new Error('the settings were not read');
  return resolveCaHost(host, settings.caAllowedHosts);
}

/** The host name without IPv6 brackets, as DNS and sockets take it. */
function bareHostname(endpoint: CaEndpoint): string {
  return endpoint.hostname.replace(/^\[(.*)\]$/, '$1');
}

function trustedCas(context: DoctorContext): string[] | undefined {
  const extra = context.options.trustedCaPemForTests;
  return extra === undefined ? undefined : [...rootCertificates, ...extra];
}

function distinguishedName(text: string): string {
  return text.split('\n').reverse().join(', ');
}

// ---------------------------------------------------------------------------------------------------------
// DNS

async function checkDns(context: DoctorContext, host: string): Promise<CheckOutcome> {
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
  options: { ca?: string[]; credential?: RaCredential; timeoutMs: number },
): Promise<HandshakeResult> {
  const name = bareHostname(endpoint);
  return new Promise((resolve) => {
    let settled = false;
    const connection: ConnectionOptions = {
      host: name,
      port: endpoint.port,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
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

async function checkTls(context: DoctorContext, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  const settings = context.settings!;
  const result = await handshake(endpoint, {
    ca: trustedCas(context),
    credential: context.raCredential,
    timeoutMs: settings.caConnectTimeoutMs,
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

async function checkMutualTls(context: DoctorContext, host: string): Promise<CheckOutcome> {
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
    await agent.close().catch(() => undefined);
  }
}

const RA_REFUSED_REMEDY =
  'DigiCert did not accept the RA certificate. Use the RA certificate DigiCert issued for this account (RA_CERTIFICATE_NAME, or RA_CERT_THUMBPRINT if pinned) with its private key, client-authentication EKU, neither expired nor revoked, and check that CA_ALLOWED_HOSTS names the DigiCert host of that account.';

// ---------------------------------------------------------------------------------------------------------
// Health operation

async function checkHealth(context: DoctorContext, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  try {
    const status = await context.caClient().getStatus(endpoint.authority);
    if (status.up) {
      return {
        status: 'pass',
        detail: `getStatus at ${endpoint.authority}: UP${status.message === '' ? '' : ` (${status.message})`}`,
        data: { up: true, message: status.message },
      };
    }
    const down = caDownError(
      { operation: 'getStatus', caHost: endpoint.authority, service: 'healthcheckService' },
      status.message,
    );
    return {
      status: 'fail',
      detail: down.message,
      remedy: DEFAULT_REMEDIES.CA_UNAVAILABLE,
      errorCode: down.code,
      data: { up: false, message: status.message },
    };
  } catch (error) {
    return failureOutcome(error);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Profile policies

async function checkPolicy(context: DoctorContext, profileOid: string, host: string): Promise<CheckOutcome> {
  const endpoint = endpointOf(context, host);
  const settings = context.settings!;
  let policy;
  try {
    policy = await context.caClient().getPolicy(endpoint.authority, profileOid);
  } catch (error) {
    return failureOutcome(error);
  }
  const summary = summarizeProfile(policy, settings.profileFieldMap);
  const cas = policyCaCertificates(policy);
  const name = policy.friendlyName === undefined ? `profile ${profileOid}` : `"${policy.friendlyName}"`;
  const notes = [
    ...summary.variables.map(describeVariable),
    ...summary.fixed.map((fixed) => `fixed: ${fixed}`),
    describeSidField(summary.sidField),
    ...cas.certificates.map(
      (certificate) =>
        `CA certificate (${certificate.role}): ${certificate.subject}, SHA-1 ${certificate.thumbprint}, until ${certificate.notAfter.toISOString().slice(0, 10)}`,
    ),
    ...cas.skipped.map((skipped) => `CA certificate skipped: ${skipped}`),
  ];
  const data: { [key: string]: JsonValue } = {
    profileOid,
    caHost: endpoint.authority,
    friendlyName: policy.friendlyName ?? null,
    keySize: policy.keySize ?? null,
    validityDays: policy.validityDays ?? null,
    variables: summary.variables.map((variable) => ({
      name: variable.name,
      mandatory: variable.mandatory,
      where: variable.where,
      source: variable.source ?? null,
      decidedBy: variable.decidedBy ?? null,
      brokerCanFill: variable.source !== undefined,
    })),
    sidField:
      summary.sidField === undefined
        ? null
        : { variable: summary.sidField.variable ?? null, mandatory: summary.sidField.mandatory },
    caCertificates: cas.certificates.map((certificate) => ({
      role: certificate.role,
      subject: certificate.subject,
      thumbprint: certificate.thumbprint,
    })),
  };
  if (summary.fieldMapError !== undefined) {
    return { ...failureOutcome(summary.fieldMapError, { notes }), data };
  }
  if (summary.unfillable.length > 0) {
    const names = summary.unfillable.map((variable) => `$${variable.name}`).join(', ');
    return withRow(
      {
        status: 'fail',
        detail: `${name} requires ${names}, which the broker cannot fill from an Intune request: every request for it would fail with POLICY_MISMATCH`,
        notes,
        remedy: unfillableRemedy(summary.unfillable),
        errorCode: 'POLICY_MISMATCH',
        data,
      },
      { id: 'policy-verification' },
    );
  }
  const filled = summary.variables.filter((variable) => variable.source !== undefined).length;
  const facts = [
    `${summary.variables.length} variable(s), ${filled === summary.variables.length ? 'all' : filled} filled by the broker`,
    ...(policy.keySize === undefined ? [] : [`key ${policy.keySize} bits`]),
    ...(policy.validityDays === undefined ? [] : [`${policy.validityDays} days`]),
    summary.sidField === undefined
      ? 'no SID field'
      : `SID field ${summary.sidField.mandatory ? 'mandatory' : 'optional'}`,
    `${cas.certificates.length} CA certificate(s)`,
  ].join(', ');
  if (summary.mailNameVariables.length > 0) {
    return withRow(
      {
        status: 'warn',
        detail: `${name}: ${facts}; it asks for ${summary.mailNameVariables.map((variable) => `$${variable}`).join(' and ')}, in which DigiCert refuses special characters such as "_": users with one in their name get no certificate (NAME_CHARACTERS_UNSUPPORTED)`,
        notes,
        remedy: DEFAULT_REMEDIES.NAME_CHARACTERS_UNSUPPORTED,
        errorCode: 'NAME_CHARACTERS_UNSUPPORTED',
        data,
      },
      { id: 'some-devices-no-certificates' },
    );
  }
  return { status: 'pass', detail: `${name}: ${facts}`, notes, data };
}

// ---------------------------------------------------------------------------------------------------------

export function caHostChecks(host: string, options: { full: boolean }): DoctorCheck[] {
  const health: DoctorCheck = {
    id: caHealthCheckId(host),
    title: `CA health operation at ${host}`,
    needs: [SETTINGS_CHECK_ID, RA_CERTIFICATE_CHECK_ID, caTlsCheckId(host), caMutualTlsCheckId(host)],
    run: (context) => checkHealth(context, host),
  };
  if (!options.full) return [health];
  return [
    {
      id: caDnsCheckId(host),
      title: `DNS of CA host ${host}`,
      needs: [SETTINGS_CHECK_ID],
      run: (context) => checkDns(context, host),
    },
    {
      id: caTlsCheckId(host),
      title: `TLS to CA host ${host}`,
      needs: [SETTINGS_CHECK_ID, caDnsCheckId(host)],
      run: (context) => checkTls(context, host),
    },
    {
      id: caMutualTlsCheckId(host),
      title: `Mutual TLS with CA host ${host}`,
      needs: [SETTINGS_CHECK_ID, RA_CERTIFICATE_CHECK_ID, caTlsCheckId(host)],
      run: (context) => checkMutualTls(context, host),
    },
    health,
  ];
}

export function policyCheck(profileOid: string, host: string): DoctorCheck {
  return {
    id: policyCheckId(profileOid, host),
    title: `Policy of profile ${profileOid} at ${host}`,
    needs: [SETTINGS_CHECK_ID, RA_CERTIFICATE_CHECK_ID, caHealthCheckId(host)],
    run: (context) => checkPolicy(context, profileOid, host),
  };
}

/** Not a check of its own when PROFILE_OIDS names profiles; says why nothing is checked when it does not. */
export const noProfilesCheck: DoctorCheck = {
  id: 'policies',
  title: 'Profile policies',
  needs: [SETTINGS_CHECK_ID],
  run: () =>
    Promise.resolve({
      status: 'skip',
      detail:
        'PROFILE_OIDS is not set: no profile policy checked. Set it to the DigiCert profile OIDs of your Intune PKCS profiles (comma-separated) to have their variables checked.',
    }),
};
