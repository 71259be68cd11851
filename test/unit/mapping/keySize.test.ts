import { chooseKeySize, planEnrollment } from '../../../shared/mapping';
import { expectBrokerError, intuneUserPolicy, policyWith, requestWith } from './fixtures';

describe('chooseKeySize', () => {
  const chosen: [number | undefined, number | undefined, number][] = [
    [undefined, undefined, 2048],
    [undefined, 2048, 2048],
    [undefined, 3072, 3072],
    [undefined, 4096, 4096],
    [undefined, 1024, 2048],
    [undefined, 2560, 3072],
    [2048, undefined, 2048],
    [4096, 2048, 4096],
    [3072, 3072, 3072],
    [2048, 1024, 2048],
  ];
  it.each(chosen)('request %p, policy %p → %d', (requested, policyKeySize, expected) => {
    expect(chooseKeySize(requested, policyKeySize)).toBe(expected);
  });

  it.each([
    [2048, 3072],
    [3072, 4096],
  ])('request %d below the policy %d → POLICY_MISMATCH naming keySize', (requested, policyKeySize) => {
    expectBrokerError(() => chooseKeySize(requested, policyKeySize), {
      code: 'POLICY_MISMATCH',
      message: ['keySize', String(requested), String(policyKeySize)],
      remedy: [String(policyKeySize)],
    });
  });

  it('a policy above 4096 cannot be met', () => {
    expectBrokerError(() => chooseKeySize(undefined, 8192), {
      code: 'POLICY_MISMATCH',
      message: ['keySize', '8192'],
    });
  });

  it.each([1024, 2047, 8192])('request keySize %d → INVALID_REQUEST', (requested) => {
    expectBrokerError(() => chooseKeySize(requested, undefined), {
      code: 'INVALID_REQUEST',
      message: ['keySize', String(requested)],
    });
  });

  it('planEnrollment uses the rules', () => {
    const request = requestWith('CN=u@contoso.com');
    expect(planEnrollment(request, policyWith({ keySize: 4096 })).keySize).toBe(4096);
    expect(planEnrollment({ ...request, keySize: 3072 }, intuneUserPolicy()).keySize).toBe(3072);
    expectBrokerError(() => planEnrollment({ ...request, keySize: 2048 }, policyWith({ keySize: 3072 })), {
      code: 'POLICY_MISMATCH',
      message: ['keySize'],
    });
  });
});
