/**
 * Group 3: the per-request steps around key generation, one at a time: request validation, the SOAP policy
 * answer read into a ProfilePolicy, the mapping plan, the CSR, the enrollment envelope, the CA token, the
 * recipient's password encryption. All run round-robin so that no step gets a quieter stretch of time.
 */
import { randomUUID } from 'node:crypto';
import { parseRequestMessage } from '../../shared/contract/validate';
import {
  createCsr,
  createPfxPassword,
  encryptPasswordForRecipient,
  parseIssuedToken,
  parseRecipientCertificate,
} from '../../shared/crypto';
import {
  buildRequestSecurityTokenEnvelope,
  parseGetPoliciesResponse,
  parseSoapAnswer,
  type CallContext,
} from '../../shared/digicert';
import { planEnrollment } from '../../shared/mapping';
import { USER_PROFILE, type BenchFixture, type IssuedMaterial } from '../fixture';
import { formatDuration, summaryData, type Section } from '../report';
import { summarize, timeSync } from '../stats';

interface Operation {
  id: OperationId;
  name: string;
  run: () => unknown;
}

export type OperationId = 'validate' | 'policyParse' | 'plan' | 'csr' | 'envelope' | 'token' | 'password';

export interface OperationsResult {
  section: Section;
  medianMs: Record<OperationId, number>;
}

/** How long the round-robin loop runs at most, and the fewest and most rounds. */
export interface OperationBudget {
  maxMs: number;
  minRounds: number;
  maxRounds: number;
}

export function benchOperations(
  fixture: BenchFixture,
  material: IssuedMaterial,
  policyXml: string,
  budget: OperationBudget,
  progress: (line: string) => void,
): OperationsResult {
  const authority = fixture.simulator.authority;
  const policyContext: CallContext = {
    operation: 'getPolicies',
    caHost: authority,
    service: 'policyService',
    profileOid: USER_PROFILE,
  };
  const enrollContext: CallContext = {
    operation: 'requestSecurityToken',
    caHost: authority,
    service: 'enrollmentService',
    profileOid: USER_PROFILE,
  };
  const message = JSON.stringify(fixture.requestMessage());
  const recipient = parseRecipientCertificate(fixture.pki.recipient.certPem);
  const csrDer = createCsr(material.plan, material.keys);

  const operations: Operation[] = [
    {
      id: 'validate',
      name: 'request validation (JSON + schema + rules)',
      run: () => parseRequestMessage(message, { caAllowedHosts: fixture.settings.caAllowedHosts }),
    },
    {
      id: 'policyParse',
      name: 'policy answer: SOAP XML → ProfilePolicy',
      run: () => parseGetPoliciesResponse(parseSoapAnswer(policyXml).body, USER_PROFILE, policyContext),
    },
    {
      id: 'plan',
      name: 'mapping: planEnrollment',
      run: () =>
        planEnrollment(material.request, material.policy, { fieldMap: fixture.settings.profileFieldMap }),
    },
    { id: 'csr', name: 'CSR build + sign (RSA 2048)', run: () => createCsr(material.plan, material.keys) },
    {
      id: 'envelope',
      name: 'enrollment envelope (SOAP)',
      run: () =>
        buildRequestSecurityTokenEnvelope(
          {
            profileOid: USER_PROFILE,
            clientTransactionId: randomUUID(),
            csrDer,
            nameValuePairs: material.plan.nameValuePairs,
          },
          enrollContext,
        ),
    },
    {
      id: 'token',
      name: 'CA token (PKCS#7) → leaf + chain',
      run: () => parseIssuedToken(material.response, material.keys.publicKey),
    },
    {
      id: 'password',
      name: 'PFX password → recipient (RSA-OAEP-256)',
      run: () => encryptPasswordForRecipient(createPfxPassword(), recipient),
    },
  ];

  const samples = operations.map(() => [] as number[]);
  for (const operation of operations) for (let i = 0; i < 20; i += 1) operation.run();
  const started = Date.now();
  let rounds = 0;
  while (rounds < budget.maxRounds && (rounds < budget.minRounds || Date.now() - started < budget.maxMs)) {
    operations.forEach((operation, index) => samples[index]!.push(timeSync(operation.run).ms));
    rounds += 1;
  }
  progress(`operations: ${rounds} rounds`);

  const summaries = operations.map((operation, index) => ({
    id: operation.id,
    name: operation.name,
    summary: summarize(samples[index]!),
  }));
  const section: Section = {
    title: '3. Per-request steps besides key generation and the CA round trips',
    tables: [
      {
        columns: ['step', 'n', 'median', 'p95', 'ops/s (at median)'],
        rows: summaries.map(({ name, summary }) => [
          name,
          String(summary.n),
          formatDuration(summary.median),
          formatDuration(summary.p95),
          String(Math.round(1000 / summary.median)),
        ]),
      },
    ],
    notes: [
      `${rounds} rounds, every step once per round in turn; each timing is one call.`,
      `The policy answer is the simulator's getPoliciesResponse for the user profile as sent over the wire (${policyXml.length} characters).`,
    ],
    data: Object.fromEntries(
      summaries.map(({ id, name, summary }) => [id, { step: name, ...summaryData(summary) }]),
    ),
  };
  const medianMs = Object.fromEntries(summaries.map(({ id, summary }) => [id, summary.median]));
  return { section, medianMs: medianMs as Record<OperationId, number> };
}
