/**
 * `/pki-ws/<service>`: records the request, takes the fault planned for it (if any) and applies it before
 * the CA looks at the request or after the CA did the work, around the CA's own answer (soapServices.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Connections } from './connections';
import type { Delays } from './delays';
import type { InjectedFault } from './faultModel';
import { faultLabel, type ChosenFault } from './faults';
import {
  cannedAnswer,
  hostileBody,
  sendBytes,
  sendTruncated,
  streamHugeBody,
  streamSlowBody,
} from './hostileAnswers';
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
  if (fault.location !== undefined) headers.location = fault.location;
  return {
    status: fault.status,
    text: fault.body ?? `injected HTTP ${fault.status}`,
    headers,
    operation: '',
  };
}

function isAfterProcessing(fault: InjectedFault): boolean {
  return 'after' in fault && fault.after === 'processing';
}

type HostileFault = Extract<InjectedFault, { kind: 'hostileBody' | 'hugeBody' | 'slowBody' | 'truncate' }>;

/** A hostile answer in place of the CA's (`answer`, when the CA did the work, is what a truncate cuts). */
async function hostileAnswer(
  context: RouteContext,
  fault: HostileFault,
  exchange: Exchange,
  answer: Answer | undefined,
): Promise<void> {
  const { request, response, line, faultNote } = exchange;
  const done = answer === undefined ? '' : ` ${answer.operation || '?'} done, then`;
  switch (fault.kind) {
    case 'hostileBody': {
      const { contentType, body } = hostileBody(fault.shape, fault.entityUrl);
      sendBytes(response, 200, contentType, body);
      context.log?.(`${line}${done} → 200 ${fault.shape} (${body.length} bytes)${faultNote}`);
      return;
    }
    case 'hugeBody':
    case 'slowBody': {
      const streamed =
        fault.kind === 'hugeBody'
          ? await streamHugeBody(response, fault.bytes, faultLabel(fault))
          : await streamSlowBody(response, fault.intervalMs, faultLabel(fault));
      context.state.streamedAnswers.push(streamed);
      context.log?.(`${line}${done} → 200 ${fault.kind}, ${streamed.sentBytes} bytes sent${faultNote}`);
      return;
    }
    case 'truncate':
      sendTruncated(response, answer?.status ?? 200, answer?.xml ?? answer?.text ?? cannedAnswer(), () =>
        request.socket.destroy(),
      );
      context.log?.(`${line}${done} → ${answer?.status ?? 200} cut off mid-body${faultNote}`);
      return;
  }
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
    case 'hostileBody':
    case 'hugeBody':
    case 'slowBody':
    case 'truncate':
      await hostileAnswer(context, fault, exchange, undefined);
      return 'answered';
    case 'wrongCertificate':
      return 'go on'; // applied while the CA issues
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
  answer: Answer,
): Promise<'answered' | 'go on'> {
  const { request, response, line, faultNote } = exchange;
  const operation = answer.operation;
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
    case 'hostileBody':
    case 'hugeBody':
    case 'slowBody':
    case 'truncate':
      await hostileAnswer(context, fault, exchange, answer);
      return 'answered';
    case 'soapFault':
    case 'wrongCertificate':
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

  const wrongCertificate = fault?.kind === 'wrongCertificate' ? fault.what : undefined;
  const answer = soapAnswer(state, service, contentType, body, context.log, wrongCertificate);
  if (request.socket.destroyed) {
    context.log?.(
      `${exchange.line} ${answer.operation || '?'} done late, nobody waiting${exchange.faultNote}`,
    );
    return;
  }
  if (fault !== undefined && after) {
    if ((await faultAfter(context, fault, exchange, answer)) === 'answered') return;
  }
  sendAnswer(response, answer);
  context.log?.(
    `${exchange.line} ${answer.operation || '?'} → ${answer.status} (${Date.now() - started} ms)${exchange.faultNote}`,
  );
}
