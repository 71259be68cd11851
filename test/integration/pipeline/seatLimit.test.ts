/**
 * MAX_CERTIFICATES_PER_SEAT_PER_DAY against the real parts: the seat reservations on Azurite's Table service
 * (the partition query, insert-or-409, delete), and the pipeline refusing a seat's next certificate before the
 * PKI-WS simulator is asked for it.
 */
import { RecordingTelemetry } from '../../support/recordingTelemetry';
import type { TableClient } from '@azure/data-tables';
import { startAzurite, type RunningAzurite } from '../../../dev/host/azurite';
import type { DevPki } from '../../../dev/pki/devPki';
import type { Simulator } from '../../../dev/simulator/server';
import { readSettings } from '../../../shared/config/settings';
import type { PkcsResult } from '../../../shared/contract/types';
import { CertificatePipeline, type PipelineOutcome } from '../../../shared/issuance/pipeline';
import { seatPartitionKey, type SeatReservationRequest } from '../../../shared/ledger/seatUsage';
import { createTableClient } from '../../../shared/storage/clients';
import { createRequestLedger, type TableRequestLedger } from '../../../shared/ledger/tableLedger';
import { devCaClient, startDevSimulator, type DevSimulator } from '../../support/devSimulator';

const TABLE = 'seatlimit';
const DAY = 24 * 60 * 60 * 1000;
const quiet = new RecordingTelemetry();

let devSimulator: DevSimulator;
let pki: DevPki;
let simulator: Simulator;
let azurite: RunningAzurite;
let ledger: TableRequestLedger;
let table: TableClient;
let counter = 0;

beforeAll(async () => {
  devSimulator = await startDevSimulator('seat-limit-');
  ({ pki, simulator } = devSimulator);
  azurite = await startAzurite();
  ledger = createRequestLedger(azurite.connectionString, TABLE);
  table = createTableClient({ kind: 'connectionString', connectionString: azurite.connectionString }, TABLE);
}, 120_000);

afterAll(async () => {
  await azurite?.stop();
  await devSimulator?.close();
});

/** The requestIds holding a reservation of `seat`, read straight from the table. */
async function reservationsOf(seat: { caHost: string; seatId: string }): Promise<string[]> {
  const rows: string[] = [];
  const partitionKey = seatPartitionKey(seat);
  for await (const entity of table.listEntities({
    queryOptions: { filter: `PartitionKey eq '${partitionKey}'` },
  })) {
    rows.push(entity.rowKey!);
  }
  return rows.sort();
}

describe('seat reservations on the Table service', () => {
  const at = new Date('2026-12-05T12:00:00.000Z');
  const fresh = () => ({ caHost: 'pki-ws.symauth.com', seatId: `Seat.${++counter}@contoso.com` });
  const reserve = (
    seat: { caHost: string; seatId: string },
    requestId: string,
    changes: Partial<SeatReservationRequest> = {},
  ) => ledger.seats.reserve({ seat, requestId, at, windowMs: DAY, limit: 2, ...changes });

  it('admit up to the limit, refuse the next and take its reservation back, and reuse a held one', async () => {
    const seat = fresh();
    expect(await reserve(seat, 'r-1')).toEqual({ admitted: true });
    expect(await reserve(seat, 'r-2')).toEqual({ admitted: true });
    expect(await reserve(seat, 'r-1')).toEqual({ admitted: true });
    expect(await reserve(seat, 'r-3')).toMatchObject({ admitted: false, held: 2 });
    expect(await reservationsOf(seat)).toEqual(['r-1', 'r-2']);
    // Only hashes are keys: the seat's address is nowhere in the partition key.
    expect(seatPartitionKey(seat)).not.toContain('contoso');
  });

  it('never admit more than the limit among many racing requests', async () => {
    const seat = fresh();
    await reserve(seat, 'held');
    const racing = await Promise.all(Array.from({ length: 6 }, (_, index) => reserve(seat, `race-${index}`)));
    expect(racing.filter((outcome) => outcome.admitted).length).toBeLessThanOrEqual(1);
    expect((await reservationsOf(seat)).length).toBeLessThanOrEqual(2);
  });

  it('forget reservations older than the window, and release without complaint', async () => {
    const seat = fresh();
    await reserve(seat, 'old-1');
    await reserve(seat, 'old-2');
    expect(await reserve(seat, 'new-1', { at: new Date(at.getTime() + DAY) })).toEqual({ admitted: true });
    expect(await reservationsOf(seat)).toEqual(['new-1']);
    await ledger.seats.release(seat, 'new-1');
    await ledger.seats.release(seat, 'new-1');
    expect(await reservationsOf(seat)).toEqual([]);
  });
});

describe('the pipeline with the simulator', () => {
  it("refuses a seat's third certificate at a limit of 2 before the CA, and issues for another seat", async () => {
    const settings = readSettings({
      CA_ALLOWED_HOSTS: simulator.authority,
      MAX_CERTIFICATES_PER_SEAT_PER_DAY: '2',
    });
    const pipeline = new CertificatePipeline({
      settings,
      ca: devCaClient(pki, settings),
      ledger,
      telemetry: quiet,
    });
    const mail = `limited-${Date.now()}@contoso.com`;
    const request = (address = mail) => ({
      schemaVersion: 1,
      requestId: `seat-limit-${++counter}-${Date.now()}`,
      certificateAuthority: simulator.authority,
      certificateAuthorityName: 'Symantec',
      certificateTemplateName: '2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
      subjectName: `CN=Limited User,E=${address}`,
      subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: address }],
      recipientCertificate: pki.recipient.certPem,
    });
    const resultOf = (outcome: PipelineOutcome): PkcsResult => {
      if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
      return outcome.result;
    };
    for (let index = 0; index < 2; index += 1) {
      expect(resultOf(await pipeline.process(request(), { dequeueCount: 1 })).status).toBe('issued');
    }
    expect(resultOf(await pipeline.process(request(), { dequeueCount: 1 }))).toMatchObject({
      status: 'failed',
      error: {
        code: 'REQUEST_NOT_ALLOWED',
        message: expect.stringContaining('MAX_CERTIFICATES_PER_SEAT_PER_DAY'),
      },
    });
    const seat = simulator.accountAudit().seats.find((entry) => entry.seatId.toLowerCase() === mail);
    expect(seat).toMatchObject({ valid: 2, total: 2 });
    expect(await reservationsOf({ caHost: simulator.authority, seatId: mail })).toHaveLength(2);
    const other = resultOf(await pipeline.process(request(`other-${mail}`), { dequeueCount: 1 }));
    expect(other.status).toBe('issued');
  });
});
