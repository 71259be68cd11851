/**
 * A counting HTTP proxy in front of Azurite's blob, queue and table ports: the host talks to the proxy, the
 * proxy forwards byte for byte and counts each request by service, operation and queue or table, so the
 * count is the storage traffic as the account would bill it, the host's own queue polling included. A receive
 * that comes back empty is counted apart: that is polling, not work for a request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type StorageService = 'blob' | 'queue' | 'table';

/** An operation name from a request line, e.g. "queue receive", "table merge", "table get". */
export function classifyStorageRequest(
  service: StorageService,
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined> = {},
): { operation: string; resource: string } {
  const [pathPart = '', query = ''] = url.split('?', 2);
  const params = new URLSearchParams(query);
  // Path-style URLs: /<account>/<resource>[/…].
  const segments = pathPart
    .split('/')
    .filter((segment) => segment !== '')
    .slice(1)
    .map(decodeURIComponent);
  const verb = method.toUpperCase();
  if (service === 'queue') {
    const queue = segments[0] ?? '(account)';
    if (segments[1] === 'messages') {
      const hasId = segments.length > 2;
      if (verb === 'GET')
        return {
          operation: params.get('peekonly') === 'true' ? 'queue peek' : 'queue receive',
          resource: queue,
        };
      if (verb === 'POST') return { operation: 'queue put', resource: queue };
      if (verb === 'DELETE') return { operation: hasId ? 'queue delete' : 'queue clear', resource: queue };
      if (verb === 'PUT' && hasId) return { operation: 'queue update', resource: queue };
    }
    if (segments.length === 1) {
      if (verb === 'PUT') return { operation: 'queue create', resource: queue };
      if (verb === 'GET' || verb === 'HEAD') return { operation: 'queue properties', resource: queue };
      if (verb === 'DELETE') return { operation: 'queue remove', resource: queue };
    }
    return { operation: `queue ${verb}`, resource: queue };
  }
  if (service === 'table') {
    const first = segments[0] ?? '(account)';
    if (first === 'Tables' || first.startsWith('Tables(')) {
      return { operation: verb === 'POST' ? 'table create' : `table ${verb} Tables`, resource: 'Tables' };
    }
    if (first === '$batch') return { operation: 'table batch', resource: '$batch' };
    const entity = /^([^(]+)\((.*)\)$/.exec(first);
    const table = entity ? entity[1]! : first;
    const keyed = entity !== null && entity[2] !== '';
    const conditional = headers['if-match'] !== undefined;
    if (verb === 'GET') return { operation: keyed ? 'table get' : 'table query', resource: table };
    if (verb === 'POST') return { operation: 'table insert', resource: table };
    if (verb === 'PUT') return { operation: conditional ? 'table update' : 'table upsert', resource: table };
    if (verb === 'MERGE' || verb === 'PATCH') {
      return { operation: conditional ? 'table merge' : 'table upsert-merge', resource: table };
    }
    if (verb === 'DELETE') return { operation: 'table delete', resource: table };
    return { operation: `table ${verb}`, resource: table };
  }
  const container = segments[0] ?? '(account)';
  return { operation: `blob ${verb}${segments.length > 1 ? ' blob' : ' container'}`, resource: container };
}

/** "queue receive" with an answer holding no message: polling. */
const EMPTY_RECEIVE = /<QueueMessagesList\s*\/>|<QueueMessagesList>\s*<\/QueueMessagesList>/;

export type StorageCounts = Map<string, number>;

export interface CountingProxy {
  /** Ports the host is to use instead of Azurite's. */
  ports: Record<StorageService, number>;
  /** The counts so far: "operation resource" → requests. */
  snapshot(): StorageCounts;
  close(): Promise<void>;
}

export async function startCountingProxy(upstream: Record<StorageService, number>): Promise<CountingProxy> {
  const counts: StorageCounts = new Map();
  const agent = new http.Agent({ keepAlive: true });
  const count = (label: string): void => {
    counts.set(label, (counts.get(label) ?? 0) + 1);
  };
  const servers: http.Server[] = [];
  const ports = {} as Record<StorageService, number>;
  for (const service of ['blob', 'queue', 'table'] as const) {
    const server = http.createServer((request, response) => {
      const { operation, resource } = classifyStorageRequest(
        service,
        request.method ?? 'GET',
        request.url ?? '/',
        request.headers,
      );
      const forward = http.request(
        {
          host: '127.0.0.1',
          port: upstream[service],
          method: request.method,
          path: request.url,
          headers: request.headers,
          agent,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          if (operation !== 'queue receive') {
            count(`${operation} ${resource}`);
            answer.pipe(response);
            return;
          }
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            response.write(chunk);
          });
          answer.on('end', () => {
            const empty = EMPTY_RECEIVE.test(Buffer.concat(chunks).toString('utf8'));
            count(`${operation}${empty ? ' (empty)' : ''} ${resource}`);
            response.end();
          });
        },
      );
      forward.on('error', (error) => {
        count(`proxy error ${resource}`);
        response.destroy(error);
      });
      request.pipe(forward);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports[service] = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    ports,
    snapshot: () => new Map(counts),
    close: async () => {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
      agent.destroy();
    },
  };
}

/** after − before per label, zero counts left out. */
export function countDelta(before: StorageCounts, after: StorageCounts): StorageCounts {
  const delta: StorageCounts = new Map();
  for (const [label, value] of after) {
    const difference = value - (before.get(label) ?? 0);
    if (difference !== 0) delta.set(label, difference);
  }
  return delta;
}

/** Polling (empty receives) apart from the rest; writes are what change state (put, update, delete, insert…). */
export function splitCounts(counts: StorageCounts): { polling: number; perRequest: number; writes: number } {
  let polling = 0;
  let perRequest = 0;
  let writes = 0;
  for (const [label, value] of counts) {
    if (label.includes('(empty)')) polling += value;
    else {
      perRequest += value;
      if (!/^(queue (receive|peek|properties)|table (get|query)|table GET)/.test(label)) writes += value;
    }
  }
  return { polling, perRequest, writes };
}
