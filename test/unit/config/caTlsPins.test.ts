/** CA_TLS_PINS: optional pins of the CA's TLS keys, checked at start like every setting. */
import { readSettings, SettingsError } from '../../../shared/config/settings';

const PIN_A = 'pL1+qb9HTMRZJmuC/bB/ZI9d302BYrrqiVuRyW+DGrU=';
const PIN_B = 'r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=';

describe('CA_TLS_PINS', () => {
  it('is empty (no pinning) by default', () => {
    expect(readSettings({}).caTlsPins).toEqual([]);
    expect(readSettings({ CA_TLS_PINS: ' ' }).caTlsPins).toEqual([]);
  });

  it('reads comma-separated base64 SHA-256 pins, each once', () => {
    expect(readSettings({ CA_TLS_PINS: ` ${PIN_A}, ${PIN_B} ,${PIN_A},` }).caTlsPins).toEqual([PIN_A, PIN_B]);
  });

  it.each([
    ['a hex digest', 'a4bd7ea9bf474cc45926'.repeat(3)],
    ['a pin without padding', PIN_A.slice(0, -1)],
    ['a SHA-1 pin', 'ZJ9nV4vHBWWp1s4lVdGjG8SCGbY='],
    ['an HPKP header', `pin-sha256="${PIN_A}"`],
  ])('refuses %s, naming the setting and how to compute a pin', (_what, value) => {
    expect(() => readSettings({ CA_TLS_PINS: `${PIN_A},${value}` })).toThrow(SettingsError);
    expect(() => readSettings({ CA_TLS_PINS: `${PIN_A},${value}` })).toThrow(
      /^CA_TLS_PINS: ".*" is not a pin: each is the base64 SHA-256 of a SubjectPublicKeyInfo.*openssl/,
    );
  });
});
