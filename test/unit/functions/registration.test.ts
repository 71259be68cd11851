/**
 * The function files only register: each names its trigger and outputs from handlers/bindings.ts and its
 * handler from handlers/, and the telemetry flush is registered once, as a postInvocation hook, for all.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { app } from '@azure/functions';
import * as bindings from '../../../functions/handlers/bindings';
import { health } from '../../../functions/handlers/health';
import { issuePkcsCertificate, pkcsRequestPoison } from '../../../functions/handlers/issuance';
import { purgeLedgerEntities } from '../../../functions/handlers/ledgerRetention';
import { flushTelemetry, postInvocationHooks } from '../../../functions/handlers/postInvocation';
import { reportQueueLength } from '../../../functions/handlers/queueLength';
import { pkcsRevocationPoison, revokePkcsCertificate } from '../../../functions/handlers/revocation';
import { builtBroker, getBroker } from '../../../shared/broker';

jest.mock('@azure/functions', () => ({
  ...jest.requireActual<object>('@azure/functions'),
  app: {
    storageQueue: jest.fn(),
    http: jest.fn(),
    timer: jest.fn(),
    hook: { postInvocation: jest.fn(), appTerminate: jest.fn() },
  },
}));
jest.mock('../../../shared/broker', () => ({ builtBroker: jest.fn(), getBroker: jest.fn() }));

const FUNCTIONS_DIR = path.join(__dirname, '..', '..', '..', 'functions');
const entryFiles = readdirSync(FUNCTIONS_DIR).filter((name) => name.endsWith('.ts'));

type Registered = Record<string, unknown> & { handler?: unknown };

function registrations(register: unknown): [string, Registered][] {
  return (register as jest.Mock).mock.calls as [string, Registered][];
}

beforeAll(async () => {
  for (const file of entryFiles) await import(path.join(FUNCTIONS_DIR, file));
});

describe('functions/*.ts', () => {
  it('register every function once, named as its file, with its bindings and handler', () => {
    const queues = Object.fromEntries(registrations(app.storageQueue));
    expect(queues).toEqual({
      issuePkcsCertificate: {
        ...bindings.requestQueueTrigger,
        extraOutputs: [bindings.resultQueueOutput, bindings.supersedeRevocationOutput],
        handler: issuePkcsCertificate,
      },
      pkcsRequestPoison: {
        ...bindings.requestPoisonQueueTrigger,
        extraOutputs: [bindings.resultQueueOutput, bindings.supersedeRevocationOutput],
        handler: pkcsRequestPoison,
      },
      revokePkcsCertificate: {
        ...bindings.revocationQueueTrigger,
        extraOutputs: [bindings.revocationResultOutput],
        handler: revokePkcsCertificate,
      },
      pkcsRevocationPoison: {
        ...bindings.revocationPoisonQueueTrigger,
        extraOutputs: [bindings.revocationResultOutput],
        handler: pkcsRevocationPoison,
      },
    });
    expect(registrations(app.timer)).toEqual([
      ['purgeLedger', { schedule: '0 17 3 * * *', handler: purgeLedgerEntities }],
      ['reportQueueLength', { schedule: '0 */5 * * * *', handler: reportQueueLength }],
    ]);
    expect(registrations(app.http)).toEqual([
      ['health', { methods: ['GET'], authLevel: 'function', route: 'health', handler: health }],
    ]);
    const names = [app.storageQueue, app.timer, app.http].flatMap((register) =>
      registrations(register).map(([name]) => name),
    );
    expect([...names, 'hooks'].sort()).toEqual(entryFiles.map((file) => path.basename(file, '.ts')).sort());
  });

  it('name the queues by the settings the Functions host resolves, in AzureWebJobsStorage', () => {
    const queueNames = [
      bindings.requestQueueTrigger,
      bindings.requestPoisonQueueTrigger,
      bindings.revocationQueueTrigger,
      bindings.revocationPoisonQueueTrigger,
      bindings.resultQueueOutput,
      bindings.supersedeRevocationOutput,
      bindings.revocationResultOutput,
    ].map((binding) => [binding.queueName, binding.connection]);
    expect(queueNames).toEqual([
      ['%PKCS_REQUEST_QUEUE%', 'AzureWebJobsStorage'],
      ['%PKCS_REQUEST_QUEUE%-poison', 'AzureWebJobsStorage'],
      ['%PKCS_REVOKE_QUEUE%', 'AzureWebJobsStorage'],
      ['%PKCS_REVOKE_QUEUE%-poison', 'AzureWebJobsStorage'],
      ['%PKCS_RESULT_QUEUE%', 'AzureWebJobsStorage'],
      ['%PKCS_REVOKE_QUEUE%', 'AzureWebJobsStorage'],
      ['%PKCS_REVOKE_RESULT_QUEUE%', 'AzureWebJobsStorage'],
    ]);
  });

  it('register the telemetry flush once, as a postInvocation hook for every function', () => {
    expect(postInvocationHooks).toEqual([flushTelemetry]);
    expect((app.hook.postInvocation as jest.Mock).mock.calls).toEqual([[flushTelemetry]]);
    for (const file of entryFiles) {
      expect([file, readFileSync(path.join(FUNCTIONS_DIR, file), 'utf8')]).not.toEqual([
        file,
        expect.stringMatching(/flushWithin|\.flush\(|\btry\s*\{/),
      ]);
    }
  });
});

describe('the appTerminate hook', () => {
  it('closes the built broker (its key pool) as the host stops, and builds none', () => {
    const [[terminate]] = (app.hook.appTerminate as jest.Mock).mock.calls as [[() => void]];
    const close = jest.fn();
    (builtBroker as jest.MockedFunction<typeof builtBroker>).mockReturnValue({
      close,
    } as unknown as ReturnType<typeof builtBroker>);
    terminate();
    expect(close).toHaveBeenCalledTimes(1);
    (builtBroker as jest.MockedFunction<typeof builtBroker>).mockReturnValue(undefined);
    expect(() => terminate()).not.toThrow();
    expect(getBroker).not.toHaveBeenCalled();
  });
});

describe('the postInvocation flush', () => {
  const mockedBuiltBroker = builtBroker as jest.MockedFunction<typeof builtBroker>;

  it("flushes the built broker's telemetry", async () => {
    const flush = jest.fn(() => Promise.resolve());
    mockedBuiltBroker.mockReturnValue({ telemetry: { flush } } as unknown as ReturnType<typeof builtBroker>);
    await flushTelemetry();
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('builds no broker when none was built (the health probe), and never throws', async () => {
    mockedBuiltBroker.mockReturnValue(undefined);
    await expect(flushTelemetry()).resolves.toBeUndefined();
    expect(getBroker).not.toHaveBeenCalled();
    const flush = jest.fn(() => Promise.reject(new Error('ingestion down')));
    mockedBuiltBroker.mockReturnValue({ telemetry: { flush } } as unknown as ReturnType<typeof builtBroker>);
    await expect(flushTelemetry()).resolves.toBeUndefined();
  });
});
