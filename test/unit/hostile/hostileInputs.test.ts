/**
 * The hostile-input corpus (corpus.ts) through the real message parsers and the mapping: every refusal is the
 * expected BrokerError, naming what is wrong without echoing a control or bidi character; nothing else is
 * thrown, and no key of a message reaches Object.prototype. A sample goes through the whole pipeline over the
 * in-memory ledger and the fake CA, and every revocation through the revocation pipeline: one failed result
 * that fits in a queue message, and no call to the CA.
 */
import { BrokerError } from '../../../shared/contract/errors';
import { findUnsafeCharacter } from '../../../shared/contract/fieldRules';
import { MESSAGE_MAX_BYTES } from '../../../shared/contract/messageBody';
import { parseRequestMessage } from '../../../shared/contract/validate';
import {
  parseRevocationMessage,
  validateRevocationResult,
} from '../../../shared/contract/validateRevocation';
import { planEnrollment } from '../../../shared/mapping';
import { RevocationPipeline } from '../../../shared/revocation/revocationPipeline';
import { brokerErrorOf } from '../../support/brokerErrors';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { InMemoryRequestLedger, inMemoryRevocationLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';
import { intuneUserPolicy } from '../mapping/fixtures';
import { ACCEPTED_CASES, ALLOWED, HOSTILE_CASES, type HostileCase } from './corpus';
import { fittingResultOf, hostileSettings, processAlone } from './pipelineRuns';

const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

function parse(kind: 'request' | 'revocation', body: unknown): unknown {
  return kind === 'request' ? parseRequestMessage(body, ALLOWED) : parseRevocationMessage(body, ALLOWED);
}

/** Validation, then (for a request) the mapping against an Intune user profile: what the pipeline does first. */
function validateAndPlan(testCase: { kind: 'request' | 'revocation'; body: unknown }): void {
  const parsed = parse(testCase.kind, testCase.body);
  if (testCase.kind === 'request')
    planEnrollment(parseRequestMessage(testCase.body, ALLOWED), intuneUserPolicy());
  expect(parsed).toBeDefined();
}

function expectRefusal(testCase: HostileCase, error: BrokerError): void {
  expect(error.code).toBe(testCase.code);
  expect(error.message).toContain(testCase.message);
  // The sentence names the field, never carries the hostile characters themselves, and stays short.
  expect(findUnsafeCharacter(error.message)).toBeUndefined();
  expect(error.message.length).toBeLessThan(2000);
}

it('holds at least 60 hostile messages', () => {
  expect(HOSTILE_CASES.length).toBeGreaterThanOrEqual(60);
  expect(new Set(HOSTILE_CASES.map(({ name }) => name)).size).toBe(HOSTILE_CASES.length);
});

describe.each(HOSTILE_CASES.map((testCase) => [testCase.name, testCase] as const))(
  '%s',
  (_name, testCase) => {
    it(`is refused with ${testCase.code} at ${testCase.stage === 'validate' ? 'validation' : 'mapping'}`, () => {
      if (testCase.stage === 'validate') {
        expectRefusal(
          testCase,
          brokerErrorOf(() => parse(testCase.kind, testCase.body)),
        );
        return;
      }
      const request = parseRequestMessage(testCase.body, ALLOWED);
      expectRefusal(
        testCase,
        brokerErrorOf(() => planEnrollment(request, intuneUserPolicy())),
      );
    });
  },
);

describe('accepted messages with metacharacters', () => {
  it.each(ACCEPTED_CASES.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => {
    expect(() => validateAndPlan(testCase)).not.toThrow();
  });

  it('keep __proto__ in context as data, not as a prototype', () => {
    const [withKeys] = ACCEPTED_CASES.filter(({ name }) => name.startsWith('__proto__'));
    const request = parseRequestMessage(withKeys!.body, ALLOWED);
    const context = request.context!;
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    expect(Object.keys(context)).toEqual(['__proto__', 'constructor', 'prototype']);
  });
});

describe('a sample through the pipeline (in-memory ledger, fake CA)', () => {
  const ca = FakeDigicertCa.create();
  const sample = HOSTILE_CASES.filter((testCase, index) => testCase.kind === 'request' && index % 3 === 0);

  it.each(sample.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const result = fittingResultOf(await processAlone(ca, testCase.body));
    expect(result).toMatchObject({ status: 'failed', error: { code: testCase.code } });
    expect(ca.calls.filter((call) => call.startsWith('enroll'))).toEqual([]);
  });
});

describe('the revocations through the revocation pipeline (in-memory ledgers, fake CA)', () => {
  const ca = FakeDigicertCa.create();
  const sample = HOSTILE_CASES.filter((testCase) => testCase.kind === 'revocation');

  it.each(sample.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    ca.reset();
    const requests = new InMemoryRequestLedger();
    const pipeline = new RevocationPipeline({
      settings: hostileSettings,
      ca,
      requests,
      revocations: inMemoryRevocationLedger(requests.storage),
      telemetry: new RecordingTelemetry(),
    });
    const outcome = await pipeline.process(testCase.body, { dequeueCount: 1 });
    if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
    expect(outcome.result).toMatchObject({ status: 'failed', error: { code: testCase.code } });
    expect(Buffer.byteLength(outcome.json, 'utf8')).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
    expect(validateRevocationResult(JSON.parse(outcome.json))).toEqual({ valid: true });
    expect(ca.calls).toEqual([]);
  });
});

afterAll(() => {
  // No key of any message (__proto__, constructor, prototype) reached the shared prototype.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
