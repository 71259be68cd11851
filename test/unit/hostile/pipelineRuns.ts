/**
 * One message through a pipeline of its own (a fresh in-memory ledger, the given fake CA), and the checks every
 * hostile run ends with: exactly one result, within a queue message's 64 KiB, valid against its schema.
 */
import { readSettings } from '../../../shared/config/settings';
import { MESSAGE_MAX_BYTES } from '../../../shared/contract/messageBody';
import type { PkcsResult } from '../../../shared/contract/types';
import { validateResult } from '../../../shared/contract/validate';
import { HeldEnrollmentKeys } from '../../../shared/issuance/heldKeys';
import type { PipelineOutcome } from '../../../shared/issuance/outcomes';
import { CertificatePipeline } from '../../../shared/issuance/pipeline';
import type { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { InMemoryRequestLedger } from '../../support/inMemoryLedger';
import { RecordingTelemetry } from '../../support/recordingTelemetry';
import { ALLOWED } from './corpus';

export const hostileSettings = readSettings({ CA_ALLOWED_HOSTS: ALLOWED.caAllowedHosts.join(',') });

export function processAlone(ca: FakeDigicertCa, body: unknown): Promise<PipelineOutcome> {
  ca.reset();
  const pipeline = new CertificatePipeline({
    settings: hostileSettings,
    ca,
    ledger: new InMemoryRequestLedger(),
    telemetry: new RecordingTelemetry(),
    heldKeys: new HeldEnrollmentKeys(),
  });
  return pipeline.process(body, { dequeueCount: 1 });
}

export function fittingResultOf(outcome: PipelineOutcome): PkcsResult {
  if (outcome.kind !== 'result') throw new Error(`expected a result, got ${outcome.kind}`);
  expect(Buffer.byteLength(outcome.json, 'utf8')).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
  expect(validateResult(JSON.parse(outcome.json))).toEqual({ valid: true });
  return outcome.result;
}
