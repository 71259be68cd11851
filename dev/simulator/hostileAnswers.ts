/**
 * Answers of a hostile or broken CA, for the faults hostileBody, hugeBody, slowBody and truncate: bodies made
 * to hurt an XML client, bodies without end (fast or slow), and an answer cut off mid-body. The streamed ones
 * report how many bytes they handed to the connection before the client hung up, so a test can show that the
 * client stopped reading early.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { HostileBodyShape } from './faultModel';

const SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/';
const ENVELOPE_START = `<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body>`;
const ENVELOPE_END = '</soapenv:Body></soapenv:Envelope>';
const NESTING_DEPTH = 100_000;

/** What a streamed answer came to: bytes handed to the connection, and whether it was sent to the end. */
export interface StreamedAnswer {
  /** The fault's label (hugeBody, slowBodyAfter, …). */
  label: string;
  plannedBytes?: number;
  sentBytes: number;
  completed: boolean;
}

function billionLaughs(): string {
  const entities = ['<!ENTITY lol0 "lol">'];
  for (let level = 1; level <= 9; level += 1) {
    entities.push(`<!ENTITY lol${level} "${`&lol${level - 1};`.repeat(10)}">`);
  }
  return `<?xml version="1.0"?><!DOCTYPE soapenv:Envelope [${entities.join('')}]><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body><getStatusResponse>&lol9;</getStatusResponse>${ENVELOPE_END}`;
}

function externalEntity(url: string): string {
  const system = url.replace(/"/g, '%22');
  return `<?xml version="1.0"?><!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM "${system}">]><soapenv:Envelope xmlns:soapenv="${SOAP_ENV}"><soapenv:Body><getStatusResponse>&xxe;</getStatusResponse>${ENVELOPE_END}`;
}

const GATEWAY_PAGE =
  '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Sorry</h1><p>The page you requested is being maintained.</p></body></html>';

/** The body and content type of a hostileBody fault. */
export function hostileBody(
  shape: HostileBodyShape,
  entityUrl = 'file:///etc/passwd',
): { contentType: string; body: Buffer } {
  const xml = 'text/xml; charset=utf-8';
  switch (shape) {
    case 'deepNesting':
      return {
        contentType: xml,
        body: Buffer.from(
          `${ENVELOPE_START}${'<a>'.repeat(NESTING_DEPTH)}${'</a>'.repeat(NESTING_DEPTH)}${ENVELOPE_END}`,
        ),
      };
    case 'billionLaughs':
      return { contentType: xml, body: Buffer.from(billionLaughs()) };
    case 'externalEntity':
      return { contentType: xml, body: Buffer.from(externalEntity(entityUrl)) };
    case 'html':
      return { contentType: 'text/html; charset=utf-8', body: Buffer.from(GATEWAY_PAGE) };
    case 'json':
      return {
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify({ error: 'internal_error', message: 'Something went wrong' })),
      };
    case 'binary':
      return { contentType: 'application/octet-stream', body: randomBytes(4096) };
  }
}

export function sendBytes(response: ServerResponse, status: number, contentType: string, body: Buffer): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': body.length });
  response.end(body);
}

/** Resolves when the response can take more data, or is closed. */
function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.once('drain', done);
    response.once('close', done);
  });
}

/**
 * `bytes` of well-formed-looking XML as fast as the client reads them (the writes wait for the socket, so
 * the simulator's memory does not grow with the size); stops when the client hangs up.
 */
export async function streamHugeBody(
  response: ServerResponse,
  bytes: number,
  label: string,
): Promise<StreamedAnswer> {
  response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', 'content-length': bytes });
  const filler = Buffer.alloc(64 * 1024, 'A');
  const head = Buffer.from(`${ENVELOPE_START}<filler>`);
  let sentBytes = 0;
  let first = true;
  while (sentBytes < bytes && !response.destroyed) {
    const source = first ? Buffer.concat([head, filler]) : filler;
    first = false;
    const piece = source.subarray(0, Math.min(source.length, bytes - sentBytes));
    sentBytes += piece.length;
    if (!response.write(piece)) await drainedOrClosed(response);
  }
  const completed = sentBytes >= bytes && !response.destroyed;
  if (completed) response.end();
  return { label, plannedBytes: bytes, sentBytes, completed };
}

/** One byte every `intervalMs`, without end, until the client hangs up (or the simulator closes). */
export function streamSlowBody(
  response: ServerResponse,
  intervalMs: number,
  label: string,
): Promise<StreamedAnswer> {
  response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
  const start = Buffer.from(ENVELOPE_START);
  let sentBytes = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (response.destroyed) return;
      const byte = sentBytes < start.length ? start.subarray(sentBytes, sentBytes + 1) : Buffer.from(' ');
      sentBytes += 1;
      response.write(byte);
    }, intervalMs);
    response.once('close', () => {
      clearInterval(timer);
      resolve({ label, sentBytes, completed: false });
    });
  });
}

/** A canned SOAP answer for a truncate fault that strikes before the CA looked at the request. */
export function cannedAnswer(): string {
  return `${ENVELOPE_START}<getStatusResponse>${'x'.repeat(4096)}</getStatusResponse>${ENVELOPE_END}`;
}

/**
 * Announces the whole answer's length, sends the first half and then destroys the connection without a TLS
 * close_notify: what a broken network path or a crashing server looks like to the client.
 */
export function sendTruncated(
  response: ServerResponse,
  status: number,
  xml: string,
  destroy: () => void,
): void {
  const body = Buffer.from(xml);
  response.writeHead(status, { 'content-type': 'text/xml; charset=utf-8', 'content-length': body.length });
  response.write(body.subarray(0, Math.floor(body.length / 2)), () => destroy());
}
