/**
 * `npm run audit`: runs `npm audit --omit=dev --json`, prints every advisory against a production dependency
 * with its verdict from dev/audit/allowlist.json, and exits 1 when one is not allowed (or its allowance has
 * expired). CI runs it (.ci/run).
 *
 * When npm cannot get a report (no network, the registry's audit endpoint down or not offered), it asks twice
 * more (not after a 4xx other than 429), then says so loudly and exits 0: an outage of the registry must not
 * block every change. Set
 * AUDIT_REQUIRE_REPORT=1 to make that exit 2 instead, on a pipeline whose registry always has the endpoint.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decideAudit, formatDecision, parseAllowList, type AuditDecision } from './auditPolicy';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ALLOW_LIST = path.join(ROOT, 'dev', 'audit', 'allowlist.json');
const ATTEMPTS = 3;
const PAUSE_MS = [5_000, 15_000];

function npmAudit(): Promise<unknown> {
  return new Promise((resolve) => {
    // npm exits 1 both when it found advisories and when it failed: the JSON on stdout tells which.
    execFile(
      'npm',
      ['audit', '--omit=dev', '--json'],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (_error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout));
        } catch {
          resolve({ message: `npm printed no JSON: ${stderr.trim().split('\n').pop() ?? ''}` });
        }
      },
    );
  });
}

async function main(): Promise<number> {
  const allowList = parseAllowList(JSON.parse(readFileSync(ALLOW_LIST, 'utf8')));
  let decision: AuditDecision | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    decision = decideAudit(await npmAudit(), allowList, new Date());
    if (decision.kind === 'report' || !decision.transient) break;
    console.log(`audit: attempt ${attempt} of ${ATTEMPTS}: ${decision.reason}`);
    const pause = PAUSE_MS[attempt - 1];
    if (pause !== undefined && attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  if (decision === undefined) return 2;
  for (const line of formatDecision(decision)) console.log(line);
  if (decision.kind === 'unavailable') {
    const strict = process.env.AUDIT_REQUIRE_REPORT === '1';
    console.log(
      `audit: *** NOT CHECKED *** npm audit gave no report; ` +
        (strict ? 'failing (AUDIT_REQUIRE_REPORT=1)' : 'passing anyway so a registry outage blocks nothing'),
    );
    return strict ? 2 : 0;
  }
  return decision.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`audit: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
