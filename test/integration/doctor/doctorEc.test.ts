/**
 * The doctor on the simulator's EC profile: it passes, saying the profile's keys are EC P-256 and that a
 * request's keySize does not apply; a profile asking for EC P-384 fails with POLICY_MISMATCH naming it.
 */
import { runDoctor, type CheckReport } from '../../../shared/doctor';
import { startDoctorStack, type DoctorStack } from './doctorStack';

const EC_PROFILE = '2.16.840.1.113733.1.16.1.2.3.1.1.70010006';

let stack: DoctorStack;

beforeAll(async () => {
  stack = await startDoctorStack({ azurite: true });
}, 120000);

afterAll(async () => {
  await stack?.close();
});

async function policyCheck(): Promise<CheckReport> {
  const report = await runDoctor({
    env: stack.env({ PROFILE_OIDS: EC_PROFILE }),
    trustedCaPemForTests: stack.trust,
  });
  const id = `policy:${EC_PROFILE}@${stack.simulator.authority}`;
  const found = report.checks.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no check ${id}`);
  return found;
}

describe('the doctor on an EC profile', () => {
  it('passes and names the key: EC P-256, the request keySize set aside', async () => {
    const check = await policyCheck();
    expect(check.status).toBe('pass');
    expect(check.detail).toContain("EC P-256 keys (a request's keySize does not apply)");
    expect(check.detail).not.toMatch(/key 256 bits/);
    expect(check.data?.keyAlgorithm).toBe('EC P-256');
  });

  it('fails a profile asking for EC P-384 with POLICY_MISMATCH naming the algorithm', async () => {
    const index = stack.simulator.profiles.findIndex((profile) => profile.profileOid === EC_PROFILE);
    const original = stack.simulator.profiles[index]!;
    stack.simulator.profiles[index] = {
      ...original,
      keySize: 384,
      keyAlgorithm: { oid: '1.2.840.10045.4.3.3', name: 'sha384ECDSA' },
    };
    try {
      const check = await policyCheck();
      expect(check).toMatchObject({ status: 'fail', errorCode: 'POLICY_MISMATCH' });
      expect(check.detail).toMatch(/sha384ECDSA, 1\.2\.840\.10045\.4\.3\.3/);
      expect(check.remedy).toMatch(/ECDSA P-256/);
    } finally {
      stack.simulator.profiles[index] = original;
    }
  });
});
