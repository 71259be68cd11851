/**
 * Every request's first stop: drops those from a refused client certificate, reads the body, and hands the
 * request to the admin routes (`/__simulator/…`) or to the PKI-WS services (`/pki-ws/…`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleAdmin, type AdminControls } from './adminRoutes';
import { readBody, sendText } from './httpIo';
import { handlePkiWs, type RouteContext } from './pkiWsRoute';

async function handleRequest(
  context: RouteContext,
  controls: AdminControls,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const started = Date.now();
  const path = new URL(request.url ?? '/', 'https://simulator').pathname;
  const isAdmin = path.startsWith('/__simulator/');
  if (!isAdmin && context.state.isRefused(context.connections.clientOf(request))) {
    // Closed before a byte of answer: what the client sees when the simulator's TLS layer refuses a
    // certificate from an unknown CA (Node verifies client certificates after the handshake, no alert).
    context.state.countRefusedRequest();
    context.log?.(`${request.method} ${path} refused: the client certificate is on the refused list`);
    request.socket.destroy();
    return;
  }
  const body = await readBody(request);
  if (body === undefined) {
    sendText(response, 413, 'request body too large');
    return;
  }
  if (isAdmin) handleAdmin(controls, request, response, path.slice('/__simulator/'.length), body);
  else await handlePkiWs(context, request, response, path, body, started);
}

/** The server's request listener; an unforeseen error becomes a 500 (or a dropped connection mid-answer). */
export function requestListener(
  context: RouteContext,
  controls: AdminControls,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handleRequest(context, controls, request, response).catch((error: unknown) => {
      context.log?.(`simulator: request failed: ${(error as Error).message}`);
      if (!response.headersSent && !response.destroyed) sendText(response, 500, 'simulator error');
      else response.destroy();
    });
  };
}
