import { readSettings, SettingsError } from '../../../shared/config/settings';

describe('readSettings', () => {
  it('applies the contract defaults', () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({
      requestQueue: 'pkcs-requests',
      resultQueue: 'pkcs-results',
      revokeQueue: 'pkcs-revocations',
      caAllowedHosts: ['pki-ws.symauth.com'],
      caConnectTimeoutMs: 10000,
      caRequestTimeoutMs: 30000,
      caMaxAttempts: 3,
      caCircuitFailures: 5,
      caCircuitHalfOpenMs: 30000,
      caMaxConcurrency: 8,
      pfxEncryption: 'AES256',
      telemetryIncludePersonalData: false,
      ledgerRetentionDays: 90,
    });
  });

  it('keeps the ledger for LEDGER_RETENTION_DAYS, longer than a message can live, or for ever with 0', () => {
    expect(readSettings({ LEDGER_RETENTION_DAYS: '0' }).ledgerRetentionDays).toBe(0);
    expect(readSettings({ LEDGER_RETENTION_DAYS: '8' }).ledgerRetentionDays).toBe(8);
    expect(() => readSettings({ LEDGER_RETENTION_DAYS: '7' })).toThrow(
      /LEDGER_RETENTION_DAYS.*7 is too short: a request message lives up to 7 days/,
    );
  });

  it('keeps no key pool unless KEY_POOL_SIZE asks for one', () => {
    expect(readSettings({}).keyPoolSize).toBe(0);
    expect(readSettings({ KEY_POOL_SIZE: '16' }).keyPoolSize).toBe(16);
  });

  it('normalises the thumbprint pin and the allowed hosts', () => {
    const settings = readSettings({
      RA_CERT_THUMBPRINT: 'ea 7a 4e 0c d1 a4 f8 1c f0 74 05 27 c3 1a 57 f6 02 0c 17 c5',
      CA_ALLOWED_HOSTS: ' PKI-WS.symauth.com , 127.0.0.1:8443 ,',
    });
    expect(settings.raCertThumbprints).toEqual(['EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5']);
    expect(settings.caAllowedHosts).toEqual(['pki-ws.symauth.com', '127.0.0.1:8443']);
  });

  it('takes several thumbprints while the RA certificate is rotated', () => {
    expect(
      readSettings({
        RA_CERT_THUMBPRINT:
          'EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5, 11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF:00:11:22:33,',
      }).raCertThumbprints,
    ).toEqual(['EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5', '11223344556677889900AABBCCDDEEFF00112233']);
    expect(readSettings({}).raCertThumbprints).toEqual([]);
    expect(() =>
      readSettings({ RA_CERT_THUMBPRINT: 'EA7A4E0CD1A4F81CF0740527C31A57F6020C17C5,abc' }),
    ).toThrow(
      /^RA_CERT_THUMBPRINT: "ABC" is not a thumbprint: each must be 40 hexadecimal characters .*separate several with commas/,
    );
  });

  it('reads the circuit breaker and concurrency settings', () => {
    expect(
      readSettings({
        CA_CIRCUIT_FAILURES: '3',
        CA_CIRCUIT_HALF_OPEN_MS: '0',
        CA_MAX_CONCURRENCY: ' 32 ',
      }),
    ).toMatchObject({ caCircuitFailures: 3, caCircuitHalfOpenMs: 0, caMaxConcurrency: 32 });
  });

  it.each([
    ['CA_CIRCUIT_FAILURES', '0', /outside 1\.\.1000/],
    ['CA_CIRCUIT_HALF_OPEN_MS', '-1', /not a whole number/],
    ['CA_CIRCUIT_HALF_OPEN_MS', '3600001', /outside 0\.\.3600000/],
    ['CA_MAX_CONCURRENCY', '0', /outside 1\.\.1000/],
    ['CA_MAX_CONCURRENCY', 'eight', /not a whole number/],
    ['CA_CONNECT_TIMEOUT_MS', 'ten', /not a whole number/],
    ['CA_MAX_ATTEMPTS', '0', /outside 1\.\.10/],
    ['RA_CERT_THUMBPRINT', 'EA7A', /40 hexadecimal/],
    ['PFX_ENCRYPTION', 'RC2', /neither AES256 nor 3DES/],
    ['PROFILE_FIELD_MAP', '{not json', /not valid JSON/],
    ['PROFILE_FIELD_MAP', '{"user_mail":"mailbox"}', /"user_mail" maps to "mailbox", which is not a source/],
    ['TELEMETRY_INCLUDE_PERSONAL_DATA', 'maybe', /not true or false/],
    ['SID_VERIFY_WITH_GRAPH', 'sometimes', /not true or false/],
    ['GRAPH_BASE_URL', 'graph.microsoft.com', /not a URL/],
    ['GRAPH_BASE_URL', 'http://graph.microsoft.com', /https URL without path/],
    ['GRAPH_BASE_URL', 'https://graph.microsoft.com/v1.0', /https URL without path/],
    ['KEY_POOL_SIZE', '257', /^KEY_POOL_SIZE: 257 is outside 0\.\.256/],
    ['KEY_POOL_SIZE', '-1', /^KEY_POOL_SIZE: "-1" is not a whole number/],
  ])('refuses %s=%s naming the setting', (name, value, message) => {
    expect(() => readSettings({ [name]: value })).toThrow(SettingsError);
    expect(() => readSettings({ [name]: value })).toThrow(message);
  });

  it('accepts a field map with known sources, without the $', () => {
    expect(
      readSettings({
        PROFILE_FIELD_MAP: '{"$user_mail":"email","dev_guid":"otherName:1.3.6.1.4.1.311.25.1"}',
      }).profileFieldMap,
    ).toEqual({
      user_mail: 'email',
      dev_guid: 'otherName:1.3.6.1.4.1.311.25.1',
    });
  });

  it('reads PROFILE_OIDS as a list of distinct dotted OIDs (none by default)', () => {
    expect(readSettings({}).profileOids).toEqual([]);
    expect(
      readSettings({
        PROFILE_OIDS:
          ' 2.16.840.1.113733.1.16.1.2.3.1.1.47196109, 2.16.840.1.113733.1.16.1.2.3.1.1.61904612,,2.16.840.1.113733.1.16.1.2.3.1.1.47196109',
      }).profileOids,
    ).toEqual(['2.16.840.1.113733.1.16.1.2.3.1.1.47196109', '2.16.840.1.113733.1.16.1.2.3.1.1.61904612']);
  });

  it.each(['Contoso User', '2.16.840.1.', 'urn:oid:2.16.840'])(
    'refuses PROFILE_OIDS holding %s, naming the value',
    (value) => {
      expect(() => readSettings({ PROFILE_OIDS: `2.16.840.1.113733, ${value}` })).toThrow(
        new RegExp(`^PROFILE_OIDS: "${value.replace(/\./g, '\\.')}" is not a certificate profile OID`),
      );
    },
  );

  it('reads MAX_CERTIFICATES_PER_SEAT_PER_DAY: 10 by default, 0 for no limit', () => {
    expect(readSettings({}).maxCertificatesPerSeatPerDay).toBe(10);
    expect(readSettings({ MAX_CERTIFICATES_PER_SEAT_PER_DAY: ' 0 ' }).maxCertificatesPerSeatPerDay).toBe(0);
    expect(readSettings({ MAX_CERTIFICATES_PER_SEAT_PER_DAY: '250' }).maxCertificatesPerSeatPerDay).toBe(250);
  });

  it.each(['-1', 'ten', '2.5', '1e3', '100001'])(
    'refuses MAX_CERTIFICATES_PER_SEAT_PER_DAY=%s, saying what it takes',
    (value) => {
      const read = () => readSettings({ MAX_CERTIFICATES_PER_SEAT_PER_DAY: value });
      expect(read).toThrow(SettingsError);
      expect(read).toThrow(
        `MAX_CERTIFICATES_PER_SEAT_PER_DAY: "${value}" is not a whole number from 0 to 100000 (certificates per DigiCert seat in 24 h; 0 for no limit)`,
      );
    },
  );

  it('leaves the Graph SID check off by default, against the global Graph endpoint', () => {
    expect(readSettings({})).toMatchObject({
      sidVerifyWithGraph: false,
      graphBaseUrl: 'https://graph.microsoft.com',
    });
    expect(
      readSettings({ SID_VERIFY_WITH_GRAPH: 'true', GRAPH_BASE_URL: 'https://127.0.0.1:8444/' }),
    ).toMatchObject({ sidVerifyWithGraph: true, graphBaseUrl: 'https://127.0.0.1:8444' });
  });
});
