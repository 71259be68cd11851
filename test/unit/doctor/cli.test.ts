import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DOCTOR_USAGE, main, withLocalSettings } from '../../../cli/doctor';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'doctor-cli-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const result = { code: -1, out: '', err: '' };
  result.code = await main(argv, env, {
    out: (text) => (result.out += text),
    err: (text) => (result.err += text),
  });
  return result;
}

describe('npm run doctor: the command line', () => {
  it.each([
    [['--verbose'], 'unknown argument "--verbose"'],
    [['--settings'], '--settings needs a file'],
    [['--settings', '--json'], '--settings needs a file'],
  ])('usage error for %j: exit code 2 and the usage', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err).toBe(`doctor: ${message}\n\n${DOCTOR_USAGE}\n`);
  });

  it('reads local.settings.json Values under the environment, and says so', async () => {
    const file = path.join(dir, 'local.settings.json');
    writeFileSync(
      file,
      JSON.stringify({
        Values: { CA_MAX_ATTEMPTS: 'from-file', PROFILE_OIDS: '1.2.3', QUEUE_MAX_DEQUEUE_COUNT: 5 },
      }),
    );
    expect(withLocalSettings({ PROFILE_OIDS: '1.2.4', UNSET: undefined }, file)).toEqual({
      env: { CA_MAX_ATTEMPTS: 'from-file', PROFILE_OIDS: '1.2.4' },
      ignored: ['QUEUE_MAX_DEQUEUE_COUNT'],
    });
    // The file's bad CA_MAX_ATTEMPTS reaches the doctor: the settings check fails on it (exit code 1).
    const result = await run(['--quick', '--settings', file]);
    expect(result.code).toBe(1);
    expect(result.out).toContain(
      `settings: the environment, then ${file} (not strings, ignored: QUEUE_MAX_DEQUEUE_COUNT)\n`,
    );
    expect(result.out).toContain('FAIL  Settings: CA_MAX_ATTEMPTS: "from-file" is not a whole number');
  });

  it('refuses a settings file that is not JSON without quoting it (it may hold a password)', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "Values": { "RA_CERTIFICATE_PFX_PASSWORD": "hunter2-secret" ');
    const result = await run(['--settings', file]);
    expect(result.code).toBe(2);
    expect(result.err).toContain(`doctor: ${file} cannot be read as JSON`);
    expect(result.err).not.toContain('hunter2');
  });

  it('--json prints the report as JSON only', async () => {
    const result = await run(['--json', '--quick'], { CA_MAX_ATTEMPTS: 'x' });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.out) as {
      ok: boolean;
      mode: string;
      checks: { id: string; status: string }[];
    };
    expect(report).toMatchObject({ ok: false, mode: 'quick' });
    expect(report.checks[0]).toMatchObject({ id: 'settings', status: 'fail' });
  });
});
