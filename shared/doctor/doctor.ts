/**
 * Runs the doctor's checks in order. A check whose prerequisite failed (or was skipped because of a failure)
 * is skipped naming it; a check that does not apply (Key Vault when the RA certificate is a file) is skipped
 * without holding up the rest. Nothing secret reaches the report: checks never put key material or secret
 * settings in it, and as a last guard every secret setting value is redacted from the finished report.
 */
import { readSettings, type BrokerSettings } from '../config/settings';
import { DEFAULT_CA_HOST, splitCaHostList } from '../contract/caHosts';
import { isDottedOid } from '../mapping/text';
import { PkiWsClient } from '../digicert/client';
import { failureOutcome } from './outcomes';
import { caHostChecks, noProfilesCheck, policyCheck } from './checks/caChecks';
import { keyVaultCheck, raCertificateCheck } from './checks/raChecks';
import { settingsCheck } from './checks/settingsCheck';
import { signingKeyCheck } from './checks/signingKeyCheck';
import { ledgerCheck, queuesCheck } from './checks/storageChecks';
import type {
  CheckOutcome,
  CheckReport,
  CheckStatus,
  DoctorCheck,
  DoctorContext,
  DoctorMode,
  DoctorOptions,
  DoctorReport,
  JsonValue,
} from './types';

type Env = Record<string, string | undefined>;

/** The hosts and OIDs to plan for, also when the settings do not read (the checks then skip). */
function planInputs(env: Env): { hosts: string[]; profileOids: string[] } {
  try {
    const settings = readSettings(env);
    return { hosts: settings.caAllowedHosts, profileOids: settings.profileOids };
  } catch {
    const hosts = splitCaHostList(env.CA_ALLOWED_HOSTS);
    return {
      hosts: hosts.length > 0 ? hosts : [DEFAULT_CA_HOST],
      profileOids: (env.PROFILE_OIDS ?? '')
        .split(',')
        .map((oid) => oid.trim())
        .filter(isDottedOid),
    };
  }
}

/** The checks for this configuration, in the order they run. */
export function planChecks(env: Env, mode: DoctorMode = 'full'): DoctorCheck[] {
  const { hosts, profileOids } = planInputs(env);
  const full = mode === 'full';
  const checks: DoctorCheck[] = [settingsCheck, keyVaultCheck, raCertificateCheck];
  // Planned only where it applies, so a broker without signing is not told about a check it does not need.
  if ((env.REQUEST_SIGNING_SECRET_NAME ?? '').trim() !== '') checks.push(signingKeyCheck);
  for (const host of hosts) checks.push(...caHostChecks(host, { full }));
  if (full) {
    if (profileOids.length === 0) checks.push(noProfilesCheck);
    for (const profileOid of profileOids)
      for (const host of hosts) checks.push(policyCheck(profileOid, host));
    checks.push(queuesCheck, ledgerCheck);
  }
  return checks;
}

class RunContext implements DoctorContext {
  settings?: BrokerSettings;
  raCredential?: DoctorContext['raCredential'];
  private client?: PkiWsClient;

  constructor(readonly options: DoctorOptions) {}

  get env(): Env {
    return this.options.env;
  }

  now(): Date {
    return this.options.now?.() ?? new Date();
  }

  caClient(): PkiWsClient {
    if (this.client !== undefined) return this.client;
    const settings = this.settings;
    if (settings === undefined) throw new Error('the settings were not read');
    this.client = new PkiWsClient({
      // One attempt: the doctor reports what it meets instead of waiting out a fault.
      settings: { ...settings, caMaxAttempts: 1, caCircuitFailures: 1000 },
      credential: () => {
        const credential = this.raCredential;
        return credential === undefined
          ? Promise.reject(new Error('the RA certificate was not loaded'))
          : Promise.resolve(credential);
      },
      ...(this.options.trustedCaPemForTests === undefined
        ? {}
        : { extraTrustedCaPem: this.options.trustedCaPemForTests }),
    });
    return this.client;
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}

/** Values of settings that are secret, or parts of them (the storage account key, a SAS token). */
function secretValues(env: Env): string[] {
  const values: string[] = [];
  const password = env.RA_CERTIFICATE_PFX_PASSWORD;
  if (password !== undefined && password !== '') values.push(password);
  for (const name of ['AzureWebJobsStorage', 'APPLICATIONINSIGHTS_CONNECTION_STRING']) {
    for (const part of (env[name] ?? '').split(';')) {
      const match = /^\s*(AccountKey|SharedAccessSignature|InstrumentationKey)=(.+)$/i.exec(part);
      if (match?.[2] !== undefined) values.push(match[2].trim());
    }
  }
  // Short values would redact ordinary words; none of the secrets above is that short.
  return values.filter((value) => value.length >= 6);
}

function redact<T extends JsonValue>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const scrub = (item: JsonValue): JsonValue => {
    if (typeof item === 'string') {
      return secrets.reduce((text, secret) => text.split(secret).join('[redacted]'), item);
    }
    if (Array.isArray(item)) return item.map(scrub);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, scrub(inner)]));
    }
    return item;
  };
  return scrub(value) as T;
}

/** The report with every secret setting value of `env` replaced by "[redacted]" (and as plain JSON). */
export function redactSecrets(report: DoctorReport, env: Env): DoctorReport {
  const json = JSON.parse(JSON.stringify(report)) as JsonValue;
  return redact(json, secretValues(env)) as unknown as DoctorReport;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const mode = options.mode ?? 'full';
  const context = new RunContext(options);
  const startedAt = context.now();
  const started = Date.now();
  const checks = planChecks(options.env, mode);
  const planned = new Set(checks.map((check) => check.id));
  /** Checks that failed, or were skipped because something they need failed: their dependants skip too. */
  const blocked = new Map<string, string>();
  const reports: CheckReport[] = [];
  try {
    for (const check of checks) {
      const checkStarted = Date.now();
      const blocker = (check.needs ?? []).find((id) => planned.has(id) && blocked.has(id));
      let outcome: CheckOutcome;
      if (blocker !== undefined) {
        outcome = { status: 'skip', detail: `skipped: needs "${blocked.get(blocker)}", which did not pass` };
      } else {
        try {
          outcome = await check.run(context);
        } catch (error) {
          // A check that throws is a failure of that check, never the end of the report.
          outcome = failureOutcome(error);
        }
      }
      if (outcome.status === 'fail' || blocker !== undefined) blocked.set(check.id, check.title);
      reports.push({ id: check.id, title: check.title, ...outcome, durationMs: Date.now() - checkStarted });
    }
  } finally {
    await context.close();
  }
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const report of reports) summary[report.status] += 1;
  const report: DoctorReport = {
    ok: summary.fail === 0,
    mode,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - started,
    summary,
    checks: reports,
  };
  return redactSecrets(report, options.env);
}
