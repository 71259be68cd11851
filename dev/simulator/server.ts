/**
 * A local DigiCert PKI-WS stand-in for the dev stack and the tests: SOAP 1.1 over HTTPS with mutual TLS
 * (only clients with a certificate from the dev RA CA get through the handshake), the four services under
 * `/pki-ws/`, real certificates from the dev issuing CA, a record of every request for wire-format checks,
 * fault injection (queued or random, before or after the CA did the work), refusal of chosen RA certificates,
 * and counters — programmatic, or over `/__simulator/…` for out-of-process use.
 *
 * This file starts the server (TLS, listen) and hands out its controls. What the simulator knows is in
 * state.ts; the requests go through routes.ts to pkiWsRoute.ts (faults, then soapServices.ts) or to
 * adminRoutes.ts.
 */
import https from 'node:https';
import type { DevPki } from '../pki/devPki';
import type { Simulator, SimulatorOptions } from './api';
import { Connections } from './connections';
import { Delays } from './delays';
import type { RouteContext } from './pkiWsRoute';
import { requestListener } from './routes';
import type { SimulatorService } from './services';
import { readSettings, SimulatorState } from './state';

export type {
  ClientCertificateInfo,
  ReceivedRequest,
  Simulator,
  SimulatorOptions,
  SimulatorStats,
} from './api';
export {
  RANDOM_FAULT_KINDS,
  TRANSIENT_SOAP_FAULT,
  type RandomFaultKind,
  type RandomFaultMix,
  type RandomFaultOptions,
  type RandomFaultSettings,
} from './faultModel';
export type { FaultMoment, HostileBodyShape, InjectedFault, WrongCertificate } from './faultModel';
export type { StreamedAnswer } from './hostileAnswers';
export { SIMULATOR_SERVICES, type SimulatorService } from './services';
export type { AccountAudit, IssuedCertificate, SeatAudit } from './management';
export type { SimulatorProfile } from './profiles';
export { normalizeThumbprint } from './state';

/** Mutual TLS: only clients with a certificate from the dev RA CA get through the handshake. */
function tlsOptions(pki: DevPki, tls: SimulatorOptions['tls']): https.ServerOptions {
  return {
    key: tls?.keyPem ?? pki.simulatorTls.keyPem,
    cert: tls?.certPem ?? pki.simulatorTls.certPem,
    ca: pki.raCa.certPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

async function listen(
  server: https.Server,
  port: number,
  host: string,
): Promise<{ address: string; port: number; urlHost: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address');
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { address: address.address, port: address.port, urlHost };
}

/** The handle on a listening simulator: its address, and its controls acting on the state and connections. */
function simulatorHandle(
  context: RouteContext,
  server: https.Server,
  address: { address: string; port: number; urlHost: string },
): Simulator {
  const { state, connections, delays } = context;
  const baseUrl = `https://${address.urlHost}:${address.port}`;
  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    host: address.address,
    port: address.port,
    authority: `${address.urlHost}:${address.port}`,
    received: state.received,
    issued: state.issued,
    streamedAnswers: state.streamedAnswers,
    faults: state.faults,
    profiles: state.profiles,
    health: state.health,
    serviceUrl: (service: SimulatorService) => `${baseUrl}/pki-ws/${service}`,
    setHealth: (status, message) => state.setHealth(status, message),
    setSearchReading: (reading) => state.setSearchReading(reading),
    get searchReading() {
      return { ...state.searchReading };
    },
    refuseClientCertificate(thumbprint) {
      state.refuse(thumbprint);
      // Connections the client keeps alive would otherwise carry on with the refused certificate.
      connections.dropClients((client) => state.isRefused(client));
    },
    acceptClientCertificate: (thumbprint) => state.accept(thumbprint),
    get refusedClientCertificates() {
      return state.refusedThumbprints;
    },
    get clientCertificates() {
      return state.clientCertificates;
    },
    stats: () => state.stats(),
    accountAudit: () => state.accountAudit(),
    reset: () => state.reset(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        delays.endAll();
        server.close(() => resolve());
        connections.destroyAll();
      });
      return closing;
    },
  };
}

export async function startPkiWsSimulator(options: SimulatorOptions): Promise<Simulator> {
  const state = new SimulatorState(readSettings(options));
  const context: RouteContext = {
    state,
    connections: new Connections(),
    delays: new Delays(),
    log: options.log,
  };
  const server = https.createServer(tlsOptions(options.pki, options.tls));
  context.connections.watch(server, (client) => state.noteClient(client));
  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const simulator = simulatorHandle(context, server, address);
  state.setBaseUrl(simulator.url);
  // Attached in the same tick as listening finished: no request can have come in yet.
  server.on('request', requestListener(context, simulator));
  return simulator;
}
