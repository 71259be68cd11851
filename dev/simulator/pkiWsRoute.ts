/**
 * `/pki-ws/<service>`: records the request, takes the fault planned for it (if any) and applies it before
 * the CA looks at the request or after the CA did the work, around the CA's own answer (soapServices.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Connections } from './connections';
import type { Delays } from './delays';
import type { InjectedFault } from './faultModel';
import type { ChosenFault } from './faults';
import { sendText, sendXml } from './httpIo';
import { SIMULATOR_SERVICES, type SimulatorService } from './services';
import { faultEnvelope } from './soapFault';
import { sendAnswer, soapAnswer, type Answer } from './soapServices';
import type { SimulatorState } from './state';

/** What the routes work with: the state, the connections, the delay timers and the log. */
export interface RouteContext {
  state: SimulatorState;
  connections: Connections;
  delays: Delays;
  log?: (line: string) => void;
}

/** One request on its way through a fault: for the log lines. */
interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  /** `POST /pki-ws/enrollmentService`. */
  line: string;
  /** ` [fault <label> (<source>)]`, or '' without a fault. */
  faultNote: string;
}

function httpFaultAnswer(fault: Extract<InjectedFault, { kind: 'http' }>): Answer {
  const headers: Record<string, string> = {};
  if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
  return {
    status: fault.status,
    text: fault.body ?? `injected HTTP ${fault.status}`,
    headers,
    operation: '',
  };
}

function isAfterProcessing(fault: InjectedFault): boolean {
  return fault.kind !== 'soapFault' && fault.after === 'processing';
}

/**
 * A fault that strikes before the CA looks at the request. 'answered' when it took the request's place
 * (a reset, an HTTP status, a SOAP fault, or a delay the client did not wait for).
 */
async function faultBefore(
  context: RouteContext,
  fault: InjectedFault,
  exchange: Exchange,
): Promise<'answered' | 'go on'> {
  const { request, response, line, faultNote } = exchange;
  switch (fault.kind) {
    case 'reset':
      context.log?.(`${line} → connection reset${faultNote}`);
      context.connections.reset(request.socket);
      return 'answered';
    case 'http':
      sendAnswer(response, httpFaultAnswer(fault));
      context.log?.(`${line} → ${fault.status}${faultNote}`);
      return 'answered';
    case 'soapFault':
      sendXml(
        response,
        500,
        faultEnvelope({
          faultcode: fault.faultcode,
          faultstring: fault.faultstring,
          errorcode: fault.errorcode,
          detailMessage: fault.message,
        }),
      );
      context.log?.(`${line} → 500 SOAP fault${faultNote}`);
      return 'answered';
    case 'delay':
      await context.delays.sleep(fault.ms);
      // The client gave up while we waited: the CA never looks at the request — unless it is a slow CA
      // that carries it out anyway (late).
      return request.socket.destroyed && fault.late !== true ? 'answered' : 'go on';
  }
}

/**
 * A fault that strikes after the CA did the work (a certificate issued and recorded, a status changed):
 * the client does not learn it. 'answered' when nothing more is to be sent.
 */
async function faultAfter(
  context: RouteContext,
  fault: InjectedFault,
  exchange: Exchange,
  operation: string,
): Promise<'answered' | 'go on'> {
  const { request, response, line, faultNote } = exchange;
  switch (fault.kind) {
    case 'reset':
      context.log?.(`${line} ${operation || '?'} done, then reset${faultNote}`);
      context.connections.reset(request.socket);
      return 'answered';
    case 'http':
      sendAnswer(response, httpFaultAnswer(fault));
      context.log?.(`${line} ${operation || '?'} done, then ${fault.status}${faultNote}`);
      return 'answered';
    case 'delay':
      await context.delays.sleep(fault.ms);
      return request.socket.destroyed || response.destroyed ? 'answered' : 'go on';
    case 'soapFault':
      return 'go on'; // never after processing (faultParsing refuses it)
  }
}

function takeFault(state: SimulatorState, service: SimulatorService): ChosenFault | undefined {
  const chosen = state.faults.next(service);
  if (chosen !== undefined) state.countFault(chosen);
  return chosen;
}

export async function handlePkiWs(
  context: RouteContext,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  body: string,
  /** When the request came in (Date.now()), for the duration in the log line. */
  started: number,
): Promise<void> {
  const { state } = context;
  const match = /^\/pki-ws\/([A-Za-z]+)\/?$/.exec(path);
  const service = SIMULATOR_SERVICES.find((candidate) => candidate === match?.[1]);
  if (match === null) {
    sendText(response, 404, `no such endpoint: ${path}`);
    return;
  }
  const soapAction = request.headers.soapaction;
  const contentType = request.headers['content-type'];
  state.record({
    service: service ?? 'unknown',
    path,
    soapAction: Array.isArray(soapAction) ? soapAction.join(',') : soapAction,
    contentType,
    body: state.recordBodies ? body : '',
    bodyBytes: Buffer.byteLength(body),
    clientCertSubject: context.connections.clientSubject(request),
    time: new Date(),
  });
  if (service === undefined) {
    sendText(response, 404, `no such service: ${path}`);
    return;
  }
  if (request.method !== 'POST') {
    sendText(response, 405, 'SOAP endpoints take POST', { allow: 'POST' });
    return;
  }

  const chosen = takeFault(state, service);
  const fault = chosen?.fault;
  const exchange: Exchange = {
    request,
    response,
    line: `${request.method} ${path}`,
    faultNote: chosen === undefined ? '' : ` [fault ${chosen.label} (${chosen.source})]`,
  };
  const after = fault !== undefined && isAfterProcessing(fault);
  if (fault !== undefined && !after && (await faultBefore(context, fault, exchange)) === 'answered') return;

  const answer = soapAnswer(state, service, contentType, body, context.log);
  if (request.socket.destroyed) {
    context.log?.(
      `${exchange.line} ${answer.operation || '?'} done late, nobody waiting${exchange.faultNote}`,
    );
    return;
  }
  if (fault !== undefined && after) {
    if ((await faultAfter(context, fault, exchange, answer.operation)) === 'answered') return;
  }
  sendAnswer(response, answer);
  context.log?.(
    `${exchange.line} ${answer.operation || '?'} → ${answer.status} (${Date.now() - started} ms)${exchange.faultNote}`,
  );
}
