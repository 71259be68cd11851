import {
  DEFAULT_CA_HOST,
  isCaHostAllowed,
  isSameCaHost,
  parseCaHost,
  splitCaHostList,
} from '../../../shared/contract/caHosts';

describe('parseCaHost', () => {
  it.each([
    ['pki-ws.symauth.com', { hostname: 'pki-ws.symauth.com', port: 443, authority: 'pki-ws.symauth.com' }],
    ['PKI-WS.Symauth.COM', { hostname: 'pki-ws.symauth.com', port: 443, authority: 'pki-ws.symauth.com' }],
    [
      'pki-ws.symauth.com:443',
      { hostname: 'pki-ws.symauth.com', port: 443, authority: 'pki-ws.symauth.com' },
    ],
    ['  sim.local:8443 ', { hostname: 'sim.local', port: 8443, authority: 'sim.local:8443' }],
    ['127.0.0.1:40001', { hostname: '127.0.0.1', port: 40001, authority: '127.0.0.1:40001' }],
    ['[::1]:8443', { hostname: '[::1]', port: 8443, authority: '[::1]:8443' }],
    ['[FE80::1]', { hostname: '[fe80::1]', port: 443, authority: '[fe80::1]' }],
    [
      'xn--bcher-kva.example',
      { hostname: 'xn--bcher-kva.example', port: 443, authority: 'xn--bcher-kva.example' },
    ],
  ])('reads %j', (value, endpoint) => {
    expect(parseCaHost(value)).toEqual(endpoint);
  });

  it.each([
    '',
    'https://pki-ws.symauth.com',
    'pki-ws.symauth.com/',
    'pki-ws.symauth.com/pki-ws',
    'pki-ws.symauth.com.',
    'user@pki-ws.symauth.com',
    'pki-ws.symauth.com:0',
    'pki-ws.symauth.com:65536',
    'pki-ws.symauth.com:99999',
    'pki-ws.symauth.com:',
    'bücher.example',
    '::1',
    '-pki-ws.symauth.com',
  ])('refuses %j', (value) => {
    expect(parseCaHost(value)).toBeUndefined();
  });
});

describe('splitCaHostList', () => {
  it.each<[string | undefined, string[]]>([
    [undefined, []],
    ['', []],
    [' , ,', []],
    ['PKI-WS.symauth.com', ['pki-ws.symauth.com']],
    [' a.example , B.example:8443,, ', ['a.example', 'b.example:8443']],
    ['https://Keep.Invalid/', ['https://keep.invalid/']],
  ])('splits %j', (value, hosts) => {
    expect(splitCaHostList(value)).toEqual(hosts);
  });

  it('has DigiCert PKI-WS as the default host', () => {
    expect(DEFAULT_CA_HOST).toBe('pki-ws.symauth.com');
  });
});

describe('isSameCaHost', () => {
  it.each<[string, string, boolean]>([
    ['pki-ws.symauth.com', 'PKI-WS.symauth.com', true],
    ['pki-ws.symauth.com', 'pki-ws.symauth.com:443', true],
    ['pki-ws.symauth.com:8443', 'pki-ws.symauth.com', false],
    ['pki-ws.symauth.com', 'pki-ws.symauth.com.', false],
    ['pki-ws.symauth.com/', 'pki-ws.symauth.com/', false],
    ['', '', false],
  ])('%j and %j → %s', (a, b, expected) => {
    expect(isSameCaHost(a, b)).toBe(expected);
    expect(isSameCaHost(b, a)).toBe(expected);
  });
});

describe('isCaHostAllowed', () => {
  it.each<[string, string[], boolean]>([
    ['pki-ws.symauth.com', ['pki-ws.symauth.com'], true],
    ['PKI-WS.symauth.com', ['pki-ws.SYMAUTH.com'], true],
    ['pki-ws.symauth.com:443', ['pki-ws.symauth.com'], true],
    ['pki-ws.symauth.com', ['pki-ws.symauth.com:443'], true],
    ['pki-ws.symauth.com:8443', ['pki-ws.symauth.com'], false],
    ['127.0.0.1:40001', ['127.0.0.1:40001'], true],
    ['127.0.0.1:40002', ['127.0.0.1:40001'], false],
    ['127.0.0.1', ['127.0.0.1:40001'], false],
    ['sim.local', ['sim.local:8443'], false],
    ['sim.local:443', ['sim.local:8443'], false],
    ['symauth.com', ['pki-ws.symauth.com'], false],
    ['pki-ws.symauth.com.evil.example', ['pki-ws.symauth.com'], false],
    ['pki-ws.symauth.com.', ['pki-ws.symauth.com'], false],
    ['pki-ws.symauth.com', ['pki-ws.symauth.com.'], false],
    ['pki-ws.symauth.com', ['https://pki-ws.symauth.com/'], false],
    ['https://pki-ws.symauth.com/', ['https://pki-ws.symauth.com/'], false],
    ['[::1]:8443', ['[::1]:8443'], true],
    ['pki-ws.symauth.com', ['evil.example', 'pki-ws.symauth.com'], true],
    ['pki-ws.symauth.com', [], false],
  ])('%s against %j → %s', (caHost, allowed, expected) => {
    expect(isCaHostAllowed(caHost, allowed)).toBe(expected);
  });
});
