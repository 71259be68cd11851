/**
 * export-root against the PKI-WS simulator: the profile's CA certificates come from getPolicies over mutual
 * TLS and land as DER .cer files that openssl reads, named after their CN and printed with thumbprints.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../../cli/exportRoot';
import { startDoctorStack, UNKNOWN_PROFILE, USER_PROFILE, type DoctorStack } from './doctorStack';

let stack: DoctorStack;

beforeAll(async () => {
  stack = await startDoctorStack();
}, 120000);

afterAll(async () => {
  await stack?.close();
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function exportRoot(argv: string[], env = stack.env()): Promise<Run> {
  const run: Run = { code: -1, out: '', err: '' };
  run.code = await main(argv, env, {
    out: (text) => (run.out += text),
    err: (text) => (run.err += text),
    cwd: stack.dir,
    trustedCaPemForTests: stack.trust,
  });
  return run;
}

function openssl(args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

describe('npm run export-root', () => {
  it("writes the profile's root and issuing CA as DER .cer files openssl reads, and prints their thumbprints", async () => {
    const run = await exportRoot([USER_PROFILE, '--out', 'trusted']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const dir = path.join(stack.dir, 'trusted');
    expect(readdirSync(dir).sort()).toEqual(['Dev-DigiCert-Issuing-CA.cer', 'Dev-DigiCert-Root-CA.cer']);

    const root = path.join(dir, 'Dev-DigiCert-Root-CA.cer');
    const issuing = path.join(dir, 'Dev-DigiCert-Issuing-CA.cer');
    expect(openssl(['x509', '-inform', 'DER', '-in', root, '-noout', '-subject'])).toMatch(
      /CN ?= ?Dev DigiCert Root CA/,
    );
    expect(openssl(['x509', '-inform', 'DER', '-in', issuing, '-noout', '-subject'])).toMatch(
      /CN ?= ?Dev DigiCert Issuing CA/,
    );
    // The very certificates of the dev CA, in DER.
    expect(
      new X509Certificate(readFileSync(root)).raw.equals(new X509Certificate(stack.pki.caRoot.certPem).raw),
    ).toBe(true);
    expect(
      new X509Certificate(readFileSync(issuing)).raw.equals(
        new X509Certificate(stack.pki.caIssuing.certPem).raw,
      ),
    ).toBe(true);
    expect(openssl(['verify', '-CAfile', stack.pki.caRoot.certPath, stack.pki.caIssuing.certPath])).toContain(
      'OK',
    );

    expect(run.out).toContain(
      `export-root: profile ${USER_PROFILE} ("Contoso Intune User") at ${stack.simulator.authority}: 2 CA certificate(s) written to ${dir}`,
    );
    expect(run.out).toMatch(new RegExp(`  root {10}${root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\n`));
    expect(run.out).toContain(`SHA-1     ${stack.pki.caRoot.thumbprint}`);
    expect(run.out).toContain(`SHA-1     ${stack.pki.caIssuing.thumbprint}`);
    expect(run.out).toContain(`SHA-256   ${stack.pki.caRoot.thumbprintSha256}`);
    expect(run.out.indexOf('Dev-DigiCert-Root-CA.cer')).toBeLessThan(
      run.out.indexOf('Dev-DigiCert-Issuing-CA.cer'),
    );
    expect(run.out).toMatch(/Trusted certificate/);
  });

  it('takes the single allowed CA host by default, and needs --ca when several are allowed', async () => {
    const several = stack.env({ CA_ALLOWED_HOSTS: `${stack.simulator.authority},pki-ws.symauth.com` });
    const ambiguous = await exportRoot([USER_PROFILE, '--out', 'several'], several);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.err).toContain(
      `CA_ALLOWED_HOSTS allows several CA hosts (${stack.simulator.authority}, pki-ws.symauth.com): choose one with --ca`,
    );
    expect(existsSync(path.join(stack.dir, 'several'))).toBe(false);

    const chosen = await exportRoot(
      [USER_PROFILE, '--ca', stack.simulator.authority, '--out', 'several'],
      several,
    );
    expect(chosen.code).toBe(0);
    expect(readdirSync(path.join(stack.dir, 'several'))).toHaveLength(2);

    const notAllowed = await exportRoot([USER_PROFILE, '--ca', 'ca.example.com'], several);
    expect(notAllowed.code).toBe(2);
    expect(notAllowed.err).toMatch(
      /CA_NOT_ALLOWED: certificateAuthority "ca.example.com" is not in CA_ALLOWED_HOSTS/,
    );
  });

  it('an unknown profile OID fails naming "Een aanvraagelement is niet begrepen", writing nothing', async () => {
    const run = await exportRoot([UNKNOWN_PROFILE, '--out', 'unknown']);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^export-root: PROFILE_NOT_FOUND: /);
    expect(run.err).toContain(
      "seed row: DigiCert-provider: Ophalen van DigiCert-beleid is mislukt. 'Een aanvraagelement is niet begrepen.'",
    );
    expect(run.err).toMatch(/remedy: {3}.*Manage Certificate Profiles/);
    expect(existsSync(path.join(stack.dir, 'unknown'))).toBe(false);
  });

  it('a missing RA certificate fails with "Kan clientcertificaat niet ophalen"', async () => {
    const run = await exportRoot(
      [USER_PROFILE],
      stack.env({ RA_CERTIFICATE_PFX_FILE: path.join(stack.dir, 'none.pfx') }),
    );
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/RA_CERT_UNAVAILABLE: RA certificate from file .*none\.pfx: missing/);
    expect(run.err).toContain(
      'seed row: DigiCert-provider: Kan clientcertificaat niet ophalen (cannot get the client certificate)',
    );
  });

  it.each([
    [[], 'the profile OID is missing'],
    [['Contoso User'], '"Contoso User" is not a profile OID'],
    [[USER_PROFILE, USER_PROFILE], 'one profile OID, not 2'],
    [[USER_PROFILE, '--out'], '--out needs a value'],
    [[USER_PROFILE, '--force'], 'unknown option "--force"'],
  ])('usage error for %j: %s', async (argv, message) => {
    const run = await exportRoot(argv);
    expect(run.code).toBe(2);
    expect(run.err).toContain(message);
    expect(run.err).toContain('Usage: npm run export-root -- <profileOid> [--ca <host>] [--out <dir>]');
  });
});
