/**
 * A stand-in for the Application Insights ingestion endpoint (Breeze, POST /v2.1/track): the real SDK's
 * exporters send to it when the connection string's IngestionEndpoint points here. It keeps every raw body
 * (to search for leaked secrets byte by byte) and every envelope, and answers like the service does.
 *
 * HTTPS only: the exporter turns any IngestionEndpoint into an https URL. The stand-in makes its own CA and
 * server certificate for 127.0.0.1; the client trusts `caPem` explicitly (TLS verification stays on).
 */
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createCertificate } from '../../dev/pki/certificates';

export interface Envelope {
  name: string;
  time: string;
  iKey?: string;
  tags?: Record<string, string>;
  data?: { baseType?: string; baseData?: Record<string, unknown> };
}

export interface IngestionStandIn {
  connectionString: string;
  /** The CA that issued the stand-in's server certificate. */
  caPem: string;
  /** Every body that arrived, decompressed, as text. */
  readonly bodies: string[];
  readonly envelopes: Envelope[];
  /** Requests to any other path (the exporters must send nothing else). */
  readonly otherRequests: string[];
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && typeof (value as Envelope).name === 'string';
}

/** The service accepts a JSON array or newline-delimited JSON. */
function parseEnvelopes(text: string): Envelope[] {
  const trimmed = text.trim();
  const items: unknown[] = trimmed.startsWith('[')
    ? (JSON.parse(trimmed) as unknown[])
    : trimmed
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
  return items.filter(isEnvelope);
}

export async function startIngestionStandIn(): Promise<IngestionStandIn> {
  const bodies: string[] = [];
  const envelopes: Envelope[] = [];
  const otherRequests: string[] = [];
  const ca = createCertificate({
    subject: [{ shortName: 'CN', value: 'Ingestion stand-in CA' }],
    isCa: true,
  });
  const tls = createCertificate({
    subject: [{ shortName: 'CN', value: '127.0.0.1' }],
    issuer: ca,
    extKeyUsage: ['serverAuth'],
    ipAddresses: ['127.0.0.1'],
  });
  const server: Server = createServer({ key: tls.keyPem, cert: tls.certPem }, (request, response) => {
    void (async () => {
      const raw = await readBody(request);
      const path = (request.url ?? '').split('?')[0];
      if (request.method !== 'POST' || !/\/v2(\.1)?\/track$/.test(path ?? '')) {
        otherRequests.push(`${request.method} ${request.url}`);
        response.writeHead(404).end();
        return;
      }
      const gzipped = /gzip/i.test(String(request.headers['content-encoding'] ?? ''));
      const text = (gzipped ? gunzipSync(raw) : raw).toString('utf8');
      bodies.push(text);
      let received: Envelope[];
      try {
        received = parseEnvelopes(text);
      } catch {
        response.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[]}');
        return;
      }
      envelopes.push(...received);
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          itemsReceived: received.length,
          itemsAccepted: received.length,
          errors: [],
        }),
      );
    })().catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: `InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:${port}/`,
    caPem: ca.certPem,
    bodies,
    envelopes,
    otherRequests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
