/**
 * End to end on generated input: whatever a message holds, the pipeline (in-memory ledger, fake CA) answers
 * with one result that fits in a queue message and follows the result schema, and never throws; whatever
 * names a valid request carries, the enrollment body built from them validates against the vendor XSD.
 * Fewer runs than the other property tests: each pipeline run and each xmllint call costs milliseconds.
 */
import { BrokerError } from '../../../shared/contract/errors';
import { parseRequestMessage } from '../../../shared/contract/validate';
import type { CallContext } from '../../../shared/digicert/faults/callContext';
import { buildRequestSecurityTokenEnvelope } from '../../../shared/digicert/enrollment';
import { planEnrollment } from '../../../shared/mapping';
import { FakeDigicertCa } from '../../support/fakeDigicertCa';
import { describeWithTeamShared } from '../../support/teamShared';
import { validateSoapBody } from '../../support/xsd';
import { ALLOWED, baseRequest } from '../hostile/corpus';
import { fittingResultOf, processAlone } from '../hostile/pipelineRuns';
import { intuneUserPolicy } from '../mapping/fixtures';
import { fc, PROPERTY_RUNS } from './settings';

const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.constantFrom('<', '&', ']]>', '"', "'", '\u0000', '\u202e', '\u200b', 'a'.repeat(70_000)),
);
const mutatedRequest = fc
  .tuple(
    fc.constantFrom(...Object.keys(baseRequest()), 'context'),
    fc.oneof(hostileText, fc.jsonValue({ maxDepth: 4 })),
  )
  .map(([field, value]) => ({ ...baseRequest(), requestId: 'property-1', [field]: value }));

describe('the pipeline on generated messages', () => {
  const ca = FakeDigicertCa.create();

  it('answers every message with one schema-valid result within 64 KiB', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedRequest, hostileText), async (body) => {
        fittingResultOf(await processAlone(ca, body));
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 60) },
    );
  }, 120_000);
});

describeWithTeamShared('enrollment bodies from generated names', () => {
  const context: CallContext = {
    operation: 'requestSecurityToken',
    caHost: 'pki-ws.symauth.com',
    service: 'enrollmentService',
  };
  const nameText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
  const escapeDn = (text: string): string => text.replace(/[\\,;+"=<>#]/gu, (character) => `\\${character}`);

  it('validate against ws-trust-1.3-verisign.xsd whenever the request is accepted', () => {
    fc.assert(
      fc.property(nameText, fc.emailAddress(), (commonName, mail) => {
        const body = {
          ...baseRequest(),
          subjectName: `CN=${escapeDn(commonName)},E=${mail}`,
          subjectAlternativeNames: [{ type: 'AltNameTypeEmail', value: mail }],
        };
        let plan;
        let request;
        try {
          request = parseRequestMessage(body, ALLOWED);
          plan = planEnrollment(request, intuneUserPolicy());
        } catch (error) {
          if (error instanceof BrokerError) return;
          throw error;
        }
        const envelope = buildRequestSecurityTokenEnvelope(
          {
            profileOid: request.certificateTemplateName,
            clientTransactionId: 'property-tx',
            csrDer: Buffer.from('3082010a0282010100c3', 'hex'),
            nameValuePairs: plan.nameValuePairs,
          },
          context,
        );
        expect(validateSoapBody(envelope, 'enrollment')).toEqual({ valid: true, output: '- validates' });
      }),
      { numRuns: Math.min(PROPERTY_RUNS, 25) },
    );
  }, 120_000);
});
