/**
 * The simulator's open connections: the TCP socket under each TLS connection (to reset it rather than close
 * it), the client certificate each TLS connection showed, and every socket, to drop them all on close.
 */
import type { Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClientCertificateInfo } from './api';

function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? '?'}`;
}

export class Connections {
  private readonly sockets = new Set<Socket>();
  /** The TCP socket under each TLS connection, to reset it (RST) rather than close it. */
  private readonly rawSockets = new Map<string, Socket>();
  private readonly tlsSockets = new Set<TLSSocket>();
  private readonly clients = new WeakMap<TLSSocket, ClientCertificateInfo>();

  /** Follows the server's connections; `onClient` hears of each client certificate shown in a handshake. */
  watch(server: Server, onClient: (client: ClientCertificateInfo) => void): void {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      const key = connectionKey(socket);
      this.rawSockets.set(key, socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        if (this.rawSockets.get(key) === socket) this.rawSockets.delete(key);
      });
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      const peer = socket.getPeerX509Certificate();
      if (peer === undefined) return;
      const client: ClientCertificateInfo = {
        thumbprint: peer.fingerprint.replace(/:/g, '').toUpperCase(),
        thumbprintSha256: peer.fingerprint256.replace(/:/g, '').toUpperCase(),
        subject: peer.subject.split('\n').join(', '),
        serialNumber: peer.serialNumber.toUpperCase(),
      };
      this.clients.set(socket, client);
      onClient(client);
      this.tlsSockets.add(socket);
      socket.on('close', () => this.tlsSockets.delete(socket));
    });
  }

  /** The client certificate shown on the connection of this request, if any. */
  clientOf(request: IncomingMessage): ClientCertificateInfo | undefined {
    return this.clients.get(request.socket as TLSSocket);
  }

  /** Subject of the request's client certificate, e.g. `CN=Dev RA, O=Contoso`; '' without one. */
  clientSubject(request: IncomingMessage): string {
    const known = this.clientOf(request);
    if (known !== undefined) return known.subject;
    const peer = (request.socket as TLSSocket).getPeerX509Certificate?.();
    return peer === undefined ? '' : peer.subject.split('\n').join(', ');
  }

  /** A TCP reset (RST): the client sees ECONNRESET, as when a connection really breaks. */
  reset(socket: Socket): void {
    const raw = this.rawSockets.get(connectionKey(socket));
    if (raw !== undefined && !raw.destroyed) raw.resetAndDestroy();
    socket.destroy();
  }

  /** Closes the open TLS connections whose client certificate `drop` picks. */
  dropClients(drop: (client: ClientCertificateInfo | undefined) => boolean): void {
    for (const socket of this.tlsSockets) {
      if (drop(this.clients.get(socket))) socket.destroy();
    }
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
