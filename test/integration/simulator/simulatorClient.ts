/**
 * Test-side helpers for talking to the PKI-WS simulator: the simulator on a fresh dev PKI with an undici mTLS
 * agent presenting the dev RA certificate, SOAP request envelopes written by hand (independent of
 * shared/digicert and of the simulator's builder), a forge-made PKCS#10 request, a namespace-stripping reader
 * for the answers, and xmllint.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import forge from 'node-forge';
import { Agent, request } from 'undici';
import type { DevPki } from '../../../dev/pki/devPki';
import type { Simulator, SimulatorOptions, SimulatorService } from '../../../dev/simulator/server';
import { startDevSimulator, type DevSimulator } from '../../support/devSimulator';

export const USER_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';
export const NAME_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.61904612';
export const DEVICE_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.52840011';
export const RSA4096_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010004';
export const USER_MAIL_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010005';
export const SID_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196110';
export const UNKNOWN_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.99999999';

export function temporaryDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function raAgent(pki: DevPki): Agent {
  return new Agent({
    connect: { ca: pki.tlsRootCa.certPem, key: pki.ra.keyPem, cert: pki.ra.certPem, timeout: 5000 },
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
}

export interface SimulatorSession extends DevSimulator {
  /** Presents the dev RA certificate and trusts the dev TLS root. */
  agent: Agent;
}

/** startDevSimulator plus an RA agent; close() closes the agent, stops the simulator, removes the folder. */
export async function startSimulatorSession(
  prefix: string,
  options: Omit<SimulatorOptions, 'pki'> = {},
): Promise<SimulatorSession> {
  const started = await startDevSimulator(prefix, options);
  const agent = raAgent(started.pki);
  return {
    ...started,
    agent,
    close: async () => {
      await agent.close();
      await started.close();
    },
  };
}

export interface SoapAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export async function post(
  simulator: Simulator,
  agent: Agent,
  service: SimulatorService,
  xml: string,
  /** timeoutMs: abort the request after this long (an AbortSignal, as the broker times its attempts). */
  options: { soapAction?: string; contentType?: string; timeoutMs?: number } = {},
): Promise<SoapAnswer> {
  const response = await request(simulator.serviceUrl(service), {
    method: 'POST',
    dispatcher: agent,
    body: xml,
    ...(options.timeoutMs === undefined ? {} : { signal: AbortSignal.timeout(options.timeoutMs) }),
    headers: {
      'content-type': options.contentType ?? 'text/xml; charset=utf-8',
      soapaction: `"${options.soapAction ?? `urn:test:${service}`}"`,
    },
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** A call to the simulator's /__simulator/… admin routes (JSON in, text out). */
export async function admin(
  simulator: Simulator,
  agent: Agent,
  method: 'GET' | 'POST',
  route: string,
  json?: unknown,
): Promise<{ status: number; body: string }> {
  const response = await request(`${simulator.url}/__simulator/${route}`, {
    method,
    dispatcher: agent,
    body: json === undefined ? undefined : JSON.stringify(json),
    headers: { 'content-type': 'application/json' },
  });
  return { status: response.statusCode, body: await response.body.text() };
}

/** The error code a failed undici request carries (ECONNRESET, UND_ERR_SOCKET …), else its name (TimeoutError). */
export async function failureCode(attempt: Promise<unknown>): Promise<string> {
  try {
    await attempt;
  } catch (error) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    return typeof name === 'string' ? name : `(no code: ${String(error)})`;
  }
  throw new Error('the request succeeded, a failure was expected');
}

const ENVELOPE_OPEN = '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">';
const esc = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function policyRequestXml(oids: string[], clientTransactionId = 'tx-policy-1'): string {
  return (
    `${ENVELOPE_OPEN}<soapenv:Body><pol:getPolicies xmlns:pol="http://schemas.verisign.com/pkiservices/2009/07/policy">` +
    `<pol:version>2.0</pol:version><pol:clientTransactionID>${esc(clientTransactionId)}</pol:clientTransactionID>` +
    (oids.length === 0
      ? // No filter (every profile): the schema wants a nil requestFilter, not an empty policyIDs.
        `<pol:requestFilter xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>`
      : `<pol:requestFilter><pol:policyIDs>${oids.map((oid) => `<pol:oid>${esc(oid)}</pol:oid>`).join('')}</pol:policyIDs></pol:requestFilter>`) +
    `</pol:getPolicies></soapenv:Body></soapenv:Envelope>`
  );
}

export function enrollmentRequestXml(options: {
  profileOid: string;
  csr: string;
  pairs: [string, string][];
  clientTransactionId?: string;
}): string {
  const pairs = options.pairs
    .map(
      ([name, value]) =>
        `<enr:nameValuePair><enr:name>${esc(name)}</enr:name><enr:value>${esc(value)}</enr:value></enr:nameValuePair>`,
    )
    .join('');
  return (
    `${ENVELOPE_OPEN}<soapenv:Body>` +
    `<wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512/">` +
    `<enr:requestVSSecurityToken xmlns:enr="http://schemas.verisign.com/pkiservices/2009/07/enrollment" preferredLanguage="en-US">` +
    `<enr:certificateProfileID>${esc(options.profileOid)}</enr:certificateProfileID>` +
    `<enr:clientTransactionID>${esc(options.clientTransactionId ?? 'tx-enroll-1')}</enr:clientTransactionID>` +
    `<enr:tokenType>http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#PKCS7</enr:tokenType>` +
    `<enr:requestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</enr:requestType>` +
    `<enr:binarySecurityToken ValueType="http://schemas.verisign.com/pkiservices/2009/07/PKCS10" ` +
    `EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary">${esc(options.csr)}</enr:binarySecurityToken>` +
    pairs +
    `<enr:version>2.0</enr:version>` +
    `</enr:requestVSSecurityToken></wst:RequestSecurityToken></soapenv:Body></soapenv:Envelope>`
  );
}

export function healthRequestXml(profileOid?: string): string {
  return (
    `${ENVELOPE_OPEN}<soapenv:Body><hc:getStatusRequestMessage xmlns:hc="http://schemas.pki.symantec.com/pkiservices/healthcheck">` +
    `<hc:version>1.0</hc:version><hc:clientTransactionID>tx-health-1</hc:clientTransactionID><hc:operationType>ENROLL</hc:operationType>` +
    (profileOid === undefined ? '' : `<hc:profileOid>${esc(profileOid)}</hc:profileOid>`) +
    `</hc:getStatusRequestMessage></soapenv:Body></soapenv:Envelope>`
  );
}

export function managementRequestXml(
  element: 'updateCertificateStatusRequest' | 'searchCertificateRequest',
  children: [string, string][],
): string {
  return (
    `${ENVELOPE_OPEN}<soapenv:Body><m:${element} xmlns:m="http://schemas.verisign.com/pkiservices/2009/07/management">` +
    children.map(([name, value]) => `<m:${name}>${esc(value)}</m:${name}>`).join('') +
    `</m:${element}></soapenv:Body></soapenv:Envelope>`
  );
}

export interface TestKey {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
}

export function rsaKey(bits = 2048): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    publicKey: forge.pki.publicKeyFromPem(
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ) as forge.pki.rsa.PublicKey,
  };
}

/** A PKCS#10 request as base64 DER (what the broker sends), signed with SHA-256. */
export function csrBase64(key: TestKey, commonName = 'ignored by the CA'): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = key.publicKey;
  csr.setSubject([{ shortName: 'CN', value: commonName }]);
  csr.sign(key.privateKey, forge.md.sha256.create());
  return forge.util.encode64(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes());
}

/** DER of OCTET STRING(16 bytes): the shape of the objectGUID otherName (1.3.6.1.4.1.311.25.1). */
export function guidOctetStringDer(guidBytes: Buffer): Buffer {
  return Buffer.from(
    forge.asn1
      .toDer(
        forge.asn1.create(
          forge.asn1.Class.UNIVERSAL,
          forge.asn1.Type.OCTETSTRING,
          false,
          guidBytes.toString('binary'),
        ),
      )
      .getBytes(),
    'binary',
  );
}

// --- reading answers -------------------------------------------------------------------------------------

const reader = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  trimValues: true,
  isArray: (name) =>
    [
      'policy',
      'oID',
      'subjectNameAttribute',
      'subjectNameAttributeNameValuePair',
      'Extension',
      'extensionAttributeNameValuePair',
      'extensionValue',
      'cA',
      'certificateInformation',
    ].includes(name),
});

export type XmlObject = Record<string, unknown>;

/** The SOAP Body's first element as a plain object (prefixes removed). */
export function soapBody(xml: string): { name: string; value: XmlObject } {
  const document = reader.parse(xml) as XmlObject;
  const body = (document.Envelope as XmlObject | undefined)?.Body as XmlObject | undefined;
  if (body === undefined) throw new Error(`no SOAP Body in: ${xml.slice(0, 200)}`);
  const name = Object.keys(body).find((key) => !key.startsWith('@'));
  if (name === undefined) throw new Error('empty SOAP Body');
  return { name, value: body[name] as XmlObject };
}

export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object' && '#text' in value)
    return String((value as XmlObject)['#text']);
  throw new Error(`not a text node: ${JSON.stringify(value)}`);
}

export function fault(xml: string): {
  faultcode: string;
  faultstring: string;
  errorcode?: string;
  message?: string;
} {
  const { name, value } = soapBody(xml);
  if (name !== 'Fault') throw new Error(`expected a SOAP Fault, got ${name}`);
  const detail = value.detail as XmlObject | undefined;
  return {
    faultcode: textOf(value.faultcode),
    faultstring: textOf(value.faultstring),
    errorcode: detail?.errorcode === undefined ? undefined : textOf(detail.errorcode),
    message: detail?.message === undefined ? undefined : textOf(detail.message),
  };
}

// --- external tools --------------------------------------------------------------------------------------

export function run(
  command: string,
  args: string[],
  input?: string | Buffer,
  env?: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env } });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      }),
    );
    // A tool that exits without reading its input (openssl pkcs12 -in <file>) may close the pipe before the
    // write: EPIPE is then not the tool's failure, and its exit code and output still say how it went.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(input ?? '');
  });
}
