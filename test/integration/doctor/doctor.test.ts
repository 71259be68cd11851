/**
 * The doctor against the local stack: the PKI-WS simulator (mutual TLS), Azurite and the Key Vault stand-in,
 * with the real clients. A healthy configuration passes; each broken one fails at the right check, naming
 * the matching row of the seed's troubleshooting table and the remedy; later checks that need it skip.
 */
import { randomBytes } from 'node:crypto';
import { AZURITE_KEY } from '../../../dev/host/azurite';
import { main } from '../../../cli/doctor';
import { runDoctor, type CheckReport, type DoctorReport } from '../../../shared/doctor';
import {
  closedPort,
  CUSTOM_FIELDS_PROFILE,
  DEFAULT_CN_PROFILE,
  DEVICE_PROFILE,
  RA_CERTIFICATE_NAME,
  SID_PROFILE,
  startDoctorStack,
  UNKNOWN_PROFILE,
  USER_PROFILE,
  type DoctorStack,
} from './doctorStack';

let stack: DoctorStack;

beforeAll(async () => {
  stack = await startDoctorStack({ azurite: true, keyVault: true });
}, 120000);

afterAll(async () => {
  await stack?.close();
});

type Env = Record<string, string | undefined>;

function doctor(env: Env, extra: { trusted?: boolean; now?: () => Date } = {}): Promise<DoctorReport> {
  return runDoctor({
    env,
    ...(extra.trusted === false ? {} : { trustedCaPemForTests: stack.trust }),
    ...(extra.now === undefined ? {} : { now: extra.now }),
    keyVaultCredential: stack.vault!.credential,
  });
}

function check(report: DoctorReport, id: string): CheckReport {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (found === undefined)
    throw new Error(`no check ${id} in ${report.checks.map((each) => each.id).join(', ')}`);
  return found;
}

function statuses(report: DoctorReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((each) => [each.id, each.status]));
}

const CLIENT_CERTIFICATE_ROW =
  'DigiCert-provider: Kan clientcertificaat niet ophalen (cannot get the client certificate)';

describe('the doctor against a healthy local stack', () => {
  it('passes every check with the RA certificate from a PFX file', async () => {
    const report = await doctor(stack.env());
    const host = stack.simulator.authority;
    expect(statuses(report)).toEqual({
      settings: 'pass',
      'key-vault': 'skip',
      'ra-certificate': 'pass',
      [`ca-dns:${host}`]: 'pass',
      [`ca-tls:${host}`]: 'pass',
      [`ca-mtls:${host}`]: 'pass',
      [`ca-health:${host}`]: 'pass',
      [`policy:${USER_PROFILE}@${host}`]: 'pass',
      [`policy:${DEVICE_PROFILE}@${host}`]: 'pass',
      queues: 'pass',
      ledger: 'pass',
    });
    expect(report.ok).toBe(true);
    expect(check(report, 'key-vault').detail).toMatch(
      /^not used: the RA certificate comes from RA_CERTIFICATE_PFX_FILE/,
    );
    expect(check(report, 'ra-certificate').data).toMatchObject({
      // Most specific last in the dev PKI's encoding, so last when shown the way Windows shows it.
      subject: 'O=Contoso, CN=Dev RA',
      thumbprint: stack.pki.ra.thumbprint,
      pinned: true,
    });
    expect(check(report, `ca-tls:${host}`).detail).toMatch(
      /^TLSv1\.[23] to 127\.0\.0\.1:\d+: server certificate .*CN=localhost.* issued by .*CN=Dev TLS Root CA/,
    );
    expect(check(report, `ca-mtls:${host}`).detail).toMatch(
      /the CA accepted the RA certificate O=Contoso, CN=Dev RA .*HTTP 405/,
    );
    expect(check(report, `ca-health:${host}`).detail).toMatch(/UP/);
    // Per variable: whether the broker fills it, and from what.
    expect(check(report, `policy:${USER_PROFILE}@${host}`).data?.variables).toEqual([
      expect.objectContaining({ name: 'common_name', source: 'commonName', brokerCanFill: true }),
      expect.objectContaining({ name: 'mail_email', source: 'email', brokerCanFill: true }),
      expect.objectContaining({ name: 'otherNameUPN', source: 'upn', brokerCanFill: true }),
      expect.objectContaining({
        name: 'otherNameGUID',
        source: 'otherName:1.3.6.1.4.1.311.25.1',
        mandatory: false,
      }),
    ]);
    expect(check(report, `policy:${DEVICE_PROFILE}@${host}`).notes).toContain(
      'fixed: subject attribute "ou" = Devices',
    );
    expect(check(report, 'queues').detail).toMatch(
      /^doctor-requests, doctor-results, doctor-requests-poison, pkcs-revocations, pkcs-revocation-results, pkcs-revocations-poison reachable/,
    );
    expect(check(report, 'ledger').detail).toMatch(/^table "doctorledger" /);
  });

  it('passes with the RA certificate from Key Vault (the stand-in), reading certificate and secret', async () => {
    const report = await doctor(
      stack.env({
        RA_CERTIFICATE_PFX_FILE: undefined,
        RA_CERTIFICATE_PFX_PASSWORD: undefined,
        KEY_VAULT_URL: stack.vault!.url,
        RA_CERTIFICATE_NAME,
      }),
    );
    expect(report.ok).toBe(true);
    expect(check(report, 'key-vault')).toMatchObject({ status: 'pass' });
    expect(check(report, 'key-vault').detail).toContain(`the certificate "${RA_CERTIFICATE_NAME}"`);
    expect(check(report, 'key-vault').notes).toEqual([
      expect.stringMatching(/: enabled, key exportable$/),
      expect.stringMatching(/: readable, content type application\/x-pkcs12$/),
    ]);
    expect(check(report, 'ra-certificate').data?.source).toMatch(/^Key Vault certificate "digicert-ra"/);
    expect(check(report, `ca-mtls:${stack.simulator.authority}`).status).toBe('pass');
  });

  it('checks the request-signing key when REQUEST_SIGNING_SECRET_NAME is set, never showing it', async () => {
    const key = randomBytes(32).toString('base64');
    const { version } = stack.vault!.putSecret('doctor-signing', key);
    const signing = (name: string) =>
      stack.env({ KEY_VAULT_URL: stack.vault!.url, REQUEST_SIGNING_SECRET_NAME: name });
    const report = await doctor(signing('doctor-signing'));
    expect(report.ok).toBe(true);
    expect(check(report, 'request-signing-key')).toMatchObject({
      status: 'pass',
      detail: `secret "doctor-signing" in ${stack.vault!.url}: current version ${version}, a key of 32 bytes; requests and revocations must be signed with it`,
    });
    expect(JSON.stringify(report)).not.toContain(key);

    const missing = await doctor(signing('no-signing-secret'));
    expect(missing.ok).toBe(false);
    expect(check(missing, 'request-signing-key')).toMatchObject({
      status: 'fail',
      errorCode: 'REQUEST_NOT_ALLOWED',
    });
    expect(check(missing, 'request-signing-key').remedy).toContain('az keyvault secret set');
    expect((await doctor(stack.env())).checks.map((each) => each.id)).not.toContain('request-signing-key');
  });

  it('runs in-process as `npm run doctor` does: readable report, exit code 0; --json for machines', async () => {
    let text = '';
    const code = await main([], stack.env(), {
      out: (chunk) => (text += chunk),
      trustedCaPemForTests: stack.trust,
    });
    expect(code).toBe(0);
    expect(text).toMatch(/^Doctor of the DigiCert PKCS broker: all checks, /);
    expect(text).toContain(
      `PASS  RA certificate: O=Contoso, CN=Dev RA (${stack.pki.ra.thumbprint}), private key, pin matches, client-auth EKU, `,
    );
    expect(text).toMatch(/\n11 checks: 10 passed, 0 warning\(s\), 0 failed, 1 skipped \(\d+ ms\) — OK\n$/);

    let json = '';
    expect(
      await main(['--json'], stack.env(), {
        out: (chunk) => (json += chunk),
        trustedCaPemForTests: stack.trust,
      }),
    ).toBe(0);
    const parsed = JSON.parse(json) as DoctorReport;
    expect(parsed.ok).toBe(true);
    expect(parsed.summary).toEqual({ pass: 10, warn: 0, fail: 0, skip: 1 });
  });

  it('never puts a secret in the report', async () => {
    const report = JSON.stringify(await doctor(stack.env()));
    expect(report).not.toContain(stack.pki.ra.pfxPassword);
    expect(report).not.toContain(AZURITE_KEY);
    expect(report).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  });
});

describe('the doctor against broken configurations', () => {
  it('missing RA certificate file: fails at the RA certificate, "Kan clientcertificaat niet ophalen"', async () => {
    const missing = `${stack.dir}/absent.pfx`;
    const report = await doctor(stack.env({ RA_CERTIFICATE_PFX_FILE: missing }));
    expect(report.ok).toBe(false);
    expect(check(report, 'ra-certificate')).toMatchObject({
      status: 'fail',
      errorCode: 'RA_CERT_UNAVAILABLE',
      troubleshootingRow: CLIENT_CERTIFICATE_ROW,
      troubleshootingRowId: 'client-certificate',
    });
    expect(check(report, 'ra-certificate').detail).toBe(
      `RA certificate from file ${missing}: missing: the file does not exist.`,
    );
    expect(check(report, 'ra-certificate').remedy).toMatch(/RA_CERTIFICATE_PFX_FILE/);
    const host = stack.simulator.authority;
    // What needs the RA certificate skips; the CA's reach and the storage are still checked.
    expect(check(report, `ca-mtls:${host}`)).toMatchObject({
      status: 'skip',
      detail: 'skipped: needs "RA certificate", which did not pass',
    });
    expect(check(report, `ca-health:${host}`).status).toBe('skip');
    expect(check(report, `policy:${USER_PROFILE}@${host}`).status).toBe('skip');
    expect(check(report, `ca-tls:${host}`).status).toBe('pass');
    expect(check(report, 'queues').status).toBe('pass');
  });

  it('missing RA certificate in Key Vault (404): fails at Key Vault access, "Kan clientcertificaat niet ophalen"', async () => {
    const report = await doctor(
      stack.env({
        RA_CERTIFICATE_PFX_FILE: undefined,
        KEY_VAULT_URL: stack.vault!.url,
        RA_CERTIFICATE_NAME: 'absent-ra',
      }),
    );
    expect(check(report, 'key-vault')).toMatchObject({
      status: 'fail',
      errorCode: 'RA_CERT_UNAVAILABLE',
      troubleshootingRow: CLIENT_CERTIFICATE_ROW,
    });
    expect(check(report, 'key-vault').detail).toMatch(
      /missing: the vault has no certificate named "absent-ra" \(404/,
    );
    expect(check(report, 'ra-certificate').status).toBe('skip');
  });

  it('Key Vault refuses the secret (403): case 1 of the SSL/TLS channel row', async () => {
    stack.vault!.setForbidden(RA_CERTIFICATE_NAME, ['secrets']);
    try {
      const report = await doctor(
        stack.env({
          RA_CERTIFICATE_PFX_FILE: undefined,
          KEY_VAULT_URL: stack.vault!.url,
          RA_CERTIFICATE_NAME,
        }),
      );
      expect(check(report, 'key-vault')).toMatchObject({
        status: 'fail',
        troubleshootingRowId: 'secure-channel',
      });
      expect(check(report, 'key-vault').troubleshootingRow).toMatch(
        /SSL\/TLS-kanaal.*case 1: no permission to read the RA certificate/,
      );
      expect(check(report, 'key-vault').remedy).toMatch(/"Key Vault Certificate User"/);
    } finally {
      stack.vault!.setForbidden(RA_CERTIFICATE_NAME, []);
    }
  });

  it('wrong thumbprint pin: fails at the RA certificate naming both thumbprints', async () => {
    const pin = '00'.repeat(20);
    const report = await doctor(stack.env({ RA_CERT_THUMBPRINT: pin }));
    const ra = check(report, 'ra-certificate');
    expect(ra).toMatchObject({ status: 'fail', troubleshootingRow: CLIENT_CERTIFICATE_ROW });
    expect(ra.detail).toContain(
      `thumbprint pin mismatch: the certificate's SHA-1 thumbprint is ${stack.pki.ra.thumbprint}, RA_CERT_THUMBPRINT is ${pin}`,
    );
    expect(ra.remedy).toContain(`update RA_CERT_THUMBPRINT to ${stack.pki.ra.thumbprint}`);
  });

  it('CA host not reachable (a closed port): fails at TLS reach naming the host, case 2 of the SSL/TLS row', async () => {
    const host = `127.0.0.1:${await closedPort()}`;
    const report = await doctor(stack.env({ CA_ALLOWED_HOSTS: host }));
    expect(check(report, `ca-dns:${host}`).status).toBe('pass');
    const tls = check(report, `ca-tls:${host}`);
    expect(tls).toMatchObject({
      status: 'fail',
      errorCode: 'CA_UNAVAILABLE',
      troubleshootingRowId: 'secure-channel',
    });
    expect(tls.detail).toMatch(
      new RegExp(`^nothing accepts connections at the CA host ${host} \\(.*ECONNREFUSED`),
    );
    expect(tls.troubleshootingRow).toMatch(/case 2: the CA FQDN is not the right one/);
    expect(tls.remedy).toMatch(/CA_ALLOWED_HOSTS/);
    for (const id of [`ca-mtls:${host}`, `ca-health:${host}`, `policy:${USER_PROFILE}@${host}`]) {
      expect(check(report, id).status).toBe('skip');
    }
  });

  it('untrusted CA server certificate: fails at TLS reach naming the CA host, and says how to trust', async () => {
    const report = await doctor(stack.env(), { trusted: false });
    const host = stack.simulator.authority;
    const tls = check(report, `ca-tls:${host}`);
    expect(tls).toMatchObject({
      status: 'fail',
      errorCode: 'CA_TLS_FAILED',
      troubleshootingRowId: 'secure-channel',
    });
    expect(tls.detail).toMatch(
      new RegExp(
        `^the CA host ${host} presented a server certificate that is not trusted \\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)`,
      ),
    );
    expect(tls.remedy).toMatch(/NODE_EXTRA_CA_CERTS; TLS verification is never turned off/);
    expect(check(report, `ca-health:${host}`).status).toBe('skip');
  });

  it('unknown profile OID: fails at its policy, "Een aanvraagelement is niet begrepen"', async () => {
    const host = stack.simulator.authority;
    const report = await doctor(stack.env({ PROFILE_OIDS: `${USER_PROFILE},${UNKNOWN_PROFILE}` }));
    expect(check(report, `policy:${USER_PROFILE}@${host}`).status).toBe('pass');
    const unknown = check(report, `policy:${UNKNOWN_PROFILE}@${host}`);
    expect(unknown).toMatchObject({
      status: 'fail',
      errorCode: 'PROFILE_NOT_FOUND',
      troubleshootingRowId: 'request-element-not-understood',
    });
    expect(unknown.troubleshootingRow).toMatch(
      /^DigiCert-provider: Ophalen van DigiCert-beleid is mislukt\. 'Een aanvraagelement is niet begrepen\.'/,
    );
    expect(unknown.detail).toContain(UNKNOWN_PROFILE);
    expect(unknown.remedy).toMatch(/Manage Certificate Profiles/);

    let text = '';
    const code = await main([], stack.env({ PROFILE_OIDS: UNKNOWN_PROFILE }), {
      out: (chunk) => (text += chunk),
      trustedCaPemForTests: stack.trust,
    });
    expect(code).toBe(1);
    expect(text).toContain(`FAIL  Policy of profile ${UNKNOWN_PROFILE} at ${host}: `);
    expect(text).toContain(
      "      seed row: DigiCert-provider: Ophalen van DigiCert-beleid is mislukt. 'Een aanvraagelement is niet begrepen.' (",
    );
    expect(text).toContain('      code:     PROFILE_NOT_FOUND');
    expect(text).toMatch(/1 failed, 1 skipped \(\d+ ms\) — FAILED\n$/);
  });

  it('says per profile in PROFILE_OIDS whether it has a SID field', async () => {
    const host = stack.simulator.authority;
    const report = await doctor(stack.env({ PROFILE_OIDS: `${SID_PROFILE},${USER_PROFILE}` }));
    const sid = check(report, `policy:${SID_PROFILE}@${host}`);
    expect(sid.status).toBe('pass');
    expect(sid.detail).toContain('SID field mandatory');
    expect(sid.data?.sidField).toEqual({ variable: 'objectSid', mandatory: true });
    expect(sid.notes).toContain(
      'SID field: $objectSid, mandatory (requests without securityIdentifier fail with POLICY_MISMATCH)',
    );
    const user = check(report, `policy:${USER_PROFILE}@${host}`);
    expect(user.detail).toContain('no SID field');
    expect(user.data?.sidField).toBeNull();
  });

  it('a profile variable nothing fills: "Verificatie van beleid is mislukt", until PROFILE_FIELD_MAP maps it', async () => {
    const host = stack.simulator.authority;
    const id = `policy:${CUSTOM_FIELDS_PROFILE}@${host}`;
    const unmapped = check(await doctor(stack.env({ PROFILE_OIDS: CUSTOM_FIELDS_PROFILE })), id);
    expect(unmapped).toMatchObject({
      status: 'fail',
      errorCode: 'POLICY_MISMATCH',
      troubleshootingRowId: 'policy-verification',
    });
    expect(unmapped.detail).toMatch(/requires \$user_id, which the broker cannot fill/);
    expect(unmapped.notes).toContain('$user_id (mandatory) seatIdInfo ← nothing: the broker cannot fill it');

    const mapped = check(
      await doctor(
        stack.env({ PROFILE_OIDS: CUSTOM_FIELDS_PROFILE, PROFILE_FIELD_MAP: '{"user_id":"email"}' }),
      ),
      id,
    );
    expect(mapped.status).toBe('pass');
    expect(mapped.notes).toContain('$user_id (mandatory) seatIdInfo ← email (by PROFILE_FIELD_MAP)');
  });

  it("warns about DigiCert's default CN ($mail_firstName $mail_lastName) with the seed's row, exit code still 0", async () => {
    let text = '';
    const code = await main([], stack.env({ PROFILE_OIDS: DEFAULT_CN_PROFILE }), {
      out: (chunk) => (text += chunk),
      trustedCaPemForTests: stack.trust,
    });
    expect(code).toBe(0);
    expect(text).toMatch(/WARN {2}Policy of profile .*\$mail_firstName and \$mail_lastName/);
    expect(text).toContain(
      'seed row: Sommige gebruikersapparaten ontvangen geen PKCS-certificaten van de DigiCert-CA (',
    );
  });

  it('the CA refusing the RA certificate: fails at the mutual-TLS handshake, case 3 of the SSL/TLS row', async () => {
    stack.simulator.refuseClientCertificate(stack.pki.ra.thumbprint);
    try {
      const report = await doctor(stack.env());
      const host = stack.simulator.authority;
      expect(check(report, `ca-tls:${host}`).status).toBe('pass');
      const mtls = check(report, `ca-mtls:${host}`);
      expect(mtls).toMatchObject({
        status: 'fail',
        errorCode: 'CA_TLS_FAILED',
        troubleshootingRowId: 'secure-channel',
      });
      expect(mtls.troubleshootingRow).toMatch(
        /case 3: the broker cannot authenticate to the CA with the RA certificate/,
      );
      expect(check(report, `ca-health:${host}`).status).toBe('skip');
    } finally {
      stack.simulator.acceptClientCertificate(stack.pki.ra.thumbprint);
    }
  });

  it('the CA reporting itself DOWN: fails at the health operation (no row of the seed matches)', async () => {
    stack.simulator.setHealth('DOWN', 'maintenance window');
    try {
      const report = await doctor(stack.env());
      const health = check(report, `ca-health:${stack.simulator.authority}`);
      expect(health).toMatchObject({ status: 'fail', errorCode: 'CA_UNAVAILABLE' });
      expect(health.detail).toMatch(/DOWN|maintenance window/);
      expect(health.troubleshootingRow).toBeUndefined();
    } finally {
      stack.simulator.setHealth('UP');
    }
  });

  it('warns when the RA certificate expires within 30 days (exit code 0)', async () => {
    const notAfter = stack.pki.ra.notAfter.getTime();
    const report = await doctor(stack.env(), { now: () => new Date(notAfter - 12 * 86_400_000) });
    const ra = check(report, 'ra-certificate');
    expect(ra).toMatchObject({ status: 'warn', troubleshootingRowId: 'client-certificate' });
    expect(ra.detail).toMatch(/expires in 1[12] days/);
    expect(ra.remedy).toMatch(/^Renew the RA certificate at DigiCert now/);
    expect(report.ok).toBe(true);
  });

  it('bad settings: fails at the settings naming the setting, everything else skips', async () => {
    const report = await doctor(stack.env({ PROFILE_OIDS: 'Contoso User' }));
    expect(check(report, 'settings')).toMatchObject({
      status: 'fail',
      troubleshootingRowId: 'request-element-not-understood',
    });
    expect(check(report, 'settings').detail).toMatch(
      /^PROFILE_OIDS: "Contoso User" is not a certificate profile OID/,
    );
    expect(report.checks.slice(1).every((each) => each.status === 'skip')).toBe(true);

    const noStorage = await doctor(stack.env({ AzureWebJobsStorage: undefined }));
    expect(check(noStorage, 'settings').detail).toMatch(/AzureWebJobsStorage is not set/);
  });

  it('in Azure (WEBSITE_SITE_NAME), a queue binding setting the functions need is missing: fails naming it', async () => {
    const inAzure = await doctor(
      stack.env({
        WEBSITE_SITE_NAME: 'pkcsbroker-app',
        PKCS_REQUEST_QUEUE: 'pkcs-requests',
        PKCS_RESULT_QUEUE: 'pkcs-results',
        PKCS_REVOKE_QUEUE: 'pkcs-revocations',
        PKCS_REVOKE_RESULT_QUEUE: undefined,
      }),
    );
    expect(check(inAzure, 'settings')).toMatchObject({ status: 'fail' });
    expect(check(inAzure, 'settings').detail).toMatch(/the app setting PKCS_REVOKE_RESULT_QUEUE is missing/);
  });
});
