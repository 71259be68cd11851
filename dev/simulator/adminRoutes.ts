/**
 * `/__simulator/…`: the simulator's controls over HTTP (JSON in and out) for out-of-process use — queue
 * faults, set the random mode, health and search reading, refuse client certificates, read what was
 * received, issued and counted, reset. Each route acts through the same controls a test holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Simulator } from './api';
import { InjectedFaultError, parseInjectedFault } from './faultParsing';
import { readJson, sendJson } from './httpIo';
import type { SearchReading } from './management';
import { normalizeThumbprint } from './state';

/** The part of the simulator's handle the admin routes use. */
export type AdminControls = Pick<
  Simulator,
  | 'received'
  | 'issued'
  | 'faults'
  | 'health'
  | 'setHealth'
  | 'searchReading'
  | 'setSearchReading'
  | 'refuseClientCertificate'
  | 'acceptClientCertificate'
  | 'refusedClientCertificates'
  | 'clientCertificates'
  | 'stats'
  | 'accountAudit'
  | 'reset'
>;

type AdminRoute = (controls: AdminControls, body: string, response: ServerResponse) => void;

function queueFaults(controls: AdminControls, body: string, response: ServerResponse): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    sendJson(response, 400, { error: 'the body must be JSON: a fault object or an array of them' });
    return;
  }
  try {
    const list = (Array.isArray(parsed) ? parsed : [parsed]).map(parseInjectedFault);
    controls.faults.enqueue(...list);
    sendJson(response, 200, { queued: list.length, pending: controls.faults.pending.length });
  } catch (error) {
    if (error instanceof InjectedFaultError) sendJson(response, 400, { error: error.message });
    else throw error;
  }
}

function setRandomFaults(controls: AdminControls, body: string, response: ServerResponse): void {
  const parsed = readJson(body);
  if (!parsed.ok) {
    sendJson(response, 400, { error: 'the body must be JSON: the random fault options, or {} / null' });
    return;
  }
  try {
    sendJson(response, 200, { random: controls.faults.configureRandom(parsed.value) ?? null });
  } catch (error) {
    if (error instanceof InjectedFaultError) sendJson(response, 400, { error: error.message });
    else throw error;
  }
}

function refuseOrAccept(refuse: boolean): AdminRoute {
  return (controls, body, response) => {
    const parsed = readJson(body);
    const thumbprint = parsed.ok
      ? (parsed.value as { thumbprint?: unknown } | undefined)?.thumbprint
      : undefined;
    if (typeof thumbprint !== 'string' || normalizeThumbprint(thumbprint) === undefined) {
      sendJson(response, 400, {
        error: 'send {"thumbprint": "<SHA-1 (40 hex digits) or SHA-256 (64 hex digits) of the certificate>"}',
      });
      return;
    }
    if (refuse) controls.refuseClientCertificate(thumbprint);
    else controls.acceptClientCertificate(thumbprint);
    sendJson(response, 200, { refused: controls.refusedClientCertificates });
  };
}

function setHealth(controls: AdminControls, body: string, response: ServerResponse): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const status = (parsed as { status?: unknown } | undefined)?.status;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  if ((status !== 'UP' && status !== 'DOWN') || (message !== undefined && typeof message !== 'string')) {
    sendJson(response, 400, { error: 'send {"status": "UP" | "DOWN", "message"?: string}' });
    return;
  }
  controls.setHealth(status, message);
  sendJson(response, 200, controls.health);
}

function setSearchReading(controls: AdminControls, body: string, response: ServerResponse): void {
  const parsed = readJson(body);
  const value = parsed.ok ? parsed.value : undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    sendJson(response, 400, {
      error: 'send {"startIndexBase"?: 0 | 1, "certificateCount"?: "page" | "total", "moreFlag"?: boolean}',
    });
    return;
  }
  try {
    controls.setSearchReading(value as Partial<Omit<SearchReading, 'pageSize'>>);
  } catch (error) {
    if (error instanceof TypeError) return sendJson(response, 400, { error: error.message });
    throw error;
  }
  sendJson(response, 200, controls.searchReading);
}

/** By `<method> <route>`, the route being the path after /__simulator/. */
const ADMIN_ROUTES = new Map<string, AdminRoute>(
  Object.entries({
    'POST faults': queueFaults,
    'GET faults': (controls, _body, response) => sendJson(response, 200, controls.faults.pending),
    'POST faults/random': setRandomFaults,
    'GET faults/random': (controls, _body, response) =>
      sendJson(response, 200, { random: controls.faults.random ?? null }),
    'GET received': (controls, _body, response) => sendJson(response, 200, controls.received),
    'GET issued': (controls, _body, response) => sendJson(response, 200, controls.issued),
    'GET audit': (controls, _body, response) => sendJson(response, 200, controls.accountAudit()),
    'GET stats': (controls, _body, response) => sendJson(response, 200, controls.stats()),
    'GET client-certificates': (controls, _body, response) =>
      sendJson(response, 200, {
        refused: controls.refusedClientCertificates,
        seen: controls.clientCertificates,
      }),
    'POST client-certificates/refuse': refuseOrAccept(true),
    'POST client-certificates/accept': refuseOrAccept(false),
    'POST reset': (controls, _body, response) => {
      controls.reset();
      response.writeHead(204).end();
    },
    'GET health': (controls, _body, response) => sendJson(response, 200, controls.health),
    'POST health': setHealth,
    'GET search-reading': (controls, _body, response) => sendJson(response, 200, controls.searchReading),
    'POST search-reading': setSearchReading,
  } satisfies Record<string, AdminRoute>),
);

export function handleAdmin(
  controls: AdminControls,
  request: IncomingMessage,
  response: ServerResponse,
  route: string,
  body: string,
): void {
  const method = request.method ?? 'GET';
  const handler = ADMIN_ROUTES.get(`${method} ${route}`);
  if (handler === undefined) {
    sendJson(response, 404, { error: `no admin route ${method} /__simulator/${route}` });
    return;
  }
  handler(controls, body, response);
}
