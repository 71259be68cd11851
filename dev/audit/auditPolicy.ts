/**
 * What CI makes of `npm audit --omit=dev --json`: every advisory against a production dependency fails the
 * run unless dev/audit/allowlist.json allows it, with a reason, until an expiry date. Pure: run.ts runs npm.
 */

/** One allowed advisory: its GHSA id (or `npm:<source>` when npm gives no GHSA url), why, and until when. */
export interface Allowance {
  id: string;
  reason: string;
  /** YYYY-MM-DD: allowed through the end of that day (UTC), then the advisory fails the run again. */
  expires: string;
}

export interface Advisory {
  id: string;
  package: string;
  severity: string;
  title: string;
  url: string;
}

export type Verdict =
  | { status: 'allowed'; allowance: Allowance }
  | { status: 'expired'; allowance: Allowance }
  | { status: 'not-allowed' };

export type AuditDecision =
  | {
      kind: 'report';
      ok: boolean;
      findings: (Advisory & { verdict: Verdict })[];
      /** Allowances no advisory needs any more: to be removed. */
      unused: Allowance[];
    }
  /**
   * npm got no report (no network, an error answer): nothing is known about advisories. `transient` is false
   * for a 4xx other than 429 (a registry that does not offer the endpoint): asking again would not help.
   */
  | { kind: 'unavailable'; reason: string; transient: boolean };

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const GHSA = /GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads the allow-list; throws an Error naming the entry and field for anything malformed. */
export function parseAllowList(json: unknown): Allowance[] {
  if (!isRecord(json) || !Array.isArray(json.advisories)) {
    throw new Error('the allow-list must be an object with an "advisories" array');
  }
  const seen = new Set<string>();
  return json.advisories.map((entry: unknown, index) => {
    const where = `advisories[${index}]`;
    if (!isRecord(entry)) throw new Error(`${where} is not an object`);
    const { id, reason, expires } = entry;
    if (typeof id !== 'string' || !(GHSA.test(id) || /^npm:\d+$/.test(id))) {
      throw new Error(`${where}.id must be a GHSA id or npm:<advisory number>`);
    }
    if (typeof reason !== 'string' || reason.trim().length < 10) {
      throw new Error(
        `${where} (${id}) needs a reason: why the advisory does not apply or cannot be fixed yet`,
      );
    }
    if (
      typeof expires !== 'string' ||
      !DATE.test(expires) ||
      Number.isNaN(Date.parse(`${expires}T00:00:00Z`))
    ) {
      throw new Error(`${where} (${id}) needs "expires" as YYYY-MM-DD`);
    }
    if (seen.has(id)) throw new Error(`${where}: ${id} is listed twice`);
    seen.add(id);
    return { id, reason, expires };
  });
}

function advisoryId(via: Record<string, unknown>): string {
  const ghsa = typeof via.url === 'string' ? GHSA.exec(via.url)?.[0] : undefined;
  return ghsa ?? `npm:${String(via.source)}`;
}

/** The advisories of an audit report (auditReportVersion 2): the `via` objects, each once. */
function advisoriesOf(vulnerabilities: Record<string, unknown>): Advisory[] {
  const found = new Map<string, Advisory>();
  for (const vulnerability of Object.values(vulnerabilities)) {
    if (!isRecord(vulnerability) || !Array.isArray(vulnerability.via)) continue;
    // A string `via` names another vulnerable package, whose own entry carries the advisory.
    for (const via of vulnerability.via) {
      if (!isRecord(via)) continue;
      const id = advisoryId(via);
      const name = typeof via.name === 'string' ? via.name : String(vulnerability.name);
      const key = `${id} ${name}`;
      if (found.has(key)) continue;
      found.set(key, {
        id,
        package: name,
        severity: typeof via.severity === 'string' ? via.severity : 'unknown',
        title: typeof via.title === 'string' ? via.title : '',
        url: typeof via.url === 'string' ? via.url : '',
      });
    }
  }
  return [...found.values()].sort((a, b) => a.id.localeCompare(b.id) || a.package.localeCompare(b.package));
}

function isExpired(allowance: Allowance, now: Date): boolean {
  return now.getTime() >= Date.parse(`${allowance.expires}T00:00:00Z`) + 24 * 3600_000;
}

/** Decides on npm's JSON output (parsed): which advisories pass, which fail, and whether npm got an answer. */
export function decideAudit(output: unknown, allowList: readonly Allowance[], now: Date): AuditDecision {
  if (!isRecord(output) || output.auditReportVersion !== 2 || !isRecord(output.vulnerabilities)) {
    const error = isRecord(output) && isRecord(output.error) ? output.error : undefined;
    const message = isRecord(output) && typeof output.message === 'string' ? output.message : undefined;
    const summary = typeof error?.summary === 'string' && error.summary !== '' ? error.summary : undefined;
    const code = typeof error?.code === 'string' ? error.code : undefined;
    const status = isRecord(output) && typeof output.statusCode === 'number' ? output.statusCode : undefined;
    return {
      kind: 'unavailable',
      reason: message ?? summary ?? code ?? 'npm audit printed no audit report',
      transient: status === undefined || status === 429 || status >= 500,
    };
  }
  const byId = new Map(allowList.map((allowance) => [allowance.id, allowance]));
  const used = new Set<string>();
  const findings = advisoriesOf(output.vulnerabilities).map((advisory) => {
    const allowance = byId.get(advisory.id);
    if (allowance === undefined) return { ...advisory, verdict: { status: 'not-allowed' } as Verdict };
    used.add(allowance.id);
    const verdict: Verdict = isExpired(allowance, now)
      ? { status: 'expired', allowance }
      : { status: 'allowed', allowance };
    return { ...advisory, verdict };
  });
  return {
    kind: 'report',
    ok: findings.every((finding) => finding.verdict.status === 'allowed'),
    findings,
    unused: allowList.filter((allowance) => !used.has(allowance.id)),
  };
}

/** The lines CI prints: every advisory with its verdict, then the allowances to remove. */
export function formatDecision(decision: AuditDecision): string[] {
  if (decision.kind === 'unavailable')
    return [`audit: the npm audit endpoint gave no report: ${decision.reason}`];
  const lines = decision.findings.map((finding) => {
    const what =
      `${finding.id} ${finding.package} (${finding.severity}): ${finding.title} ${finding.url}`.trim();
    switch (finding.verdict.status) {
      case 'allowed':
        return `allowed until ${finding.verdict.allowance.expires}: ${what} — ${finding.verdict.allowance.reason}`;
      case 'expired':
        return `FAIL (allowance expired ${finding.verdict.allowance.expires}): ${what}`;
      default:
        return `FAIL (not in dev/audit/allowlist.json): ${what}`;
    }
  });
  for (const allowance of decision.unused) {
    lines.push(`note: ${allowance.id} is allowed but no production dependency has it any more: remove it`);
  }
  lines.push(
    decision.ok
      ? `audit: ${decision.findings.length} advisories in production dependencies, none unallowed`
      : 'audit: production dependencies have advisories that are not allowed: upgrade, or allow them with a reason and an expiry date in dev/audit/allowlist.json',
  );
  return lines;
}
