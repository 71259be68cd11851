/**
 * CA_TLS_PINS against the dev simulator: a pin of the issuing CA's or of the server's own key passes, any
 * other pin fails with CA_TLS_FAILED naming the setting, and the host name is still checked first.
 */
import tls from 'node:tls';
import { readSettings } from '../../../shared/config/settings';
import type { PkiWsClient } from '../../../shared/digicert';
import { pinnedServerIdentity, spkiPin } from '../../../shared/digicert/tlsPins';
import { failureOf } from '../../support/brokerErrors';
import { devCaClient, startDevSimulator, type DevSimulator } from '../../support/devSimulator';

const PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.47196109';

let dev: DevSimulator;
const clients: PkiWsClient[] = [];

beforeAll(async () => {
  dev = await startDevSimulator('tls-pins-');
}, 120_000);

afterAll(() => dev?.close());

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

function pinOf(pem: string): string {
  return spkiPin(pemToDer(pem));
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
}

function clientFor(authority: string, env: Record<string, string> = {}): PkiWsClient {
  const settings = readSettings({ CA_ALLOWED_HOSTS: authority, CA_MAX_ATTEMPTS: '1', ...env });
  const client = devCaClient(dev.pki, settings);
  clients.push(client);
  return client;
}

describe('CA_TLS_PINS', () => {
  it('passes with the pin of the CA that issued the server certificate, or of the server certificate', async () => {
    for (const pem of [dev.pki.tlsRootCa.certPem, dev.pki.simulatorTls.certPem]) {
      const client = clientFor(dev.simulator.authority, { CA_TLS_PINS: `${'A'.repeat(43)}=, ${pinOf(pem)}` });
      await expect(client.getStatus(dev.simulator.authority, PROFILE)).resolves.toMatchObject({ up: true });
    }
  });

  it('fails with CA_TLS_FAILED naming CA_TLS_PINS when no key of the chain is pinned', async () => {
    const before = dev.simulator.stats().requests.healthcheckService;
    const wrong = pinOf(dev.pki.caRoot.certPem);
    const client = clientFor(dev.simulator.authority, { CA_TLS_PINS: wrong });
    const failure = await failureOf(client.getStatus(dev.simulator.authority, PROFILE));
    expect(failure.code).toBe('CA_TLS_FAILED');
    expect(failure.retryable).toBe(false);
    expect(failure.message).toContain('CA_TLS_PINS');
    expect(failure.message).toContain(pinOf(dev.pki.simulatorTls.certPem));
    expect(failure.remedy).toContain('CA_TLS_PINS');
    expect(dev.simulator.stats().requests.healthcheckService).toBe(before);
  });

  it('checks the host name before the pins, on the chain of a real handshake', async () => {
    const { host, port } = dev.simulator;
    const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const socket = tls.connect(
        {
          host,
          port,
          servername: 'localhost',
          ca: [dev.pki.tlsRootCa.certPem],
          key: dev.pki.ra.keyPem,
          cert: dev.pki.ra.certPem,
        },
        () => {
          resolve(socket.getPeerCertificate(true));
          socket.destroy();
        },
      );
      socket.once('error', reject);
    });
    const { checkServerIdentity } = pinnedServerIdentity([pinOf(dev.pki.tlsRootCa.certPem)]);
    expect(checkServerIdentity?.('localhost', peer)).toBeUndefined();
    expect(checkServerIdentity?.('ca.elsewhere.test', peer)).toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    const wrong = pinnedServerIdentity([pinOf(dev.pki.caRoot.certPem)]).checkServerIdentity;
    expect(wrong?.('localhost', peer)).toMatchObject({ code: 'CA_TLS_FAILED' });
    expect(pinnedServerIdentity([])).toEqual({});
  });
});
