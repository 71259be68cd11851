import { generateKeyPairSync } from 'node:crypto';
import { HeldEnrollmentKeys } from '../../../shared/issuance/heldKeys';

describe('HeldEnrollmentKeys.forget', () => {
  it('drops every attempt of that request, and only of that request', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const key = { privateKey, publicKey, publicKeySha256: 'k' };
    const held = new HeldEnrollmentKeys();
    held.hold('r-1', 1, key);
    held.hold('r-1', 2, key);
    held.hold('r-10', 1, key);
    held.forget('r-1');
    expect(held.size).toBe(1);
    expect(held.take('r-1', 2, 'k')).toBeUndefined();
    expect(held.take('r-10', 1, 'k')).toBeDefined();
  });
});
