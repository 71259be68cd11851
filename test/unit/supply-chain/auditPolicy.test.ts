/** CI's verdict on `npm audit --omit=dev --json` (dev/audit/auditPolicy.ts), on canned npm output. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  decideAudit,
  formatDecision,
  parseAllowList,
  type Allowance,
  type AuditDecision,
} from '../../../dev/audit/auditPolicy';

const NOW = new Date('2026-12-05T12:00:00Z');

/** What npm 11 prints for a tree with one direct and one transitive vulnerable package (abridged). */
function auditReport(): unknown {
  return {
    auditReportVersion: 2,
    vulnerabilities: {
      'fast-xml-parser': {
        name: 'fast-xml-parser',
        severity: 'high',
        isDirect: true,
        via: [
          {
            source: 1102000,
            name: 'fast-xml-parser',
            dependency: 'fast-xml-parser',
            title: 'Prototype pollution in fast-xml-parser',
            url: 'https://github.com/advisories/GHSA-mpg4-rc92-vx8v',
            severity: 'high',
            cwe: ['CWE-1321'],
            range: '<4.2.4',
          },
        ],
        effects: [],
        range: '<4.2.4',
        nodes: ['node_modules/fast-xml-parser'],
        fixAvailable: true,
      },
      'parent-package': {
        name: 'parent-package',
        severity: 'moderate',
        isDirect: true,
        via: ['inner-package'],
        effects: [],
        range: '1.0.0',
        nodes: ['node_modules/parent-package'],
        fixAvailable: false,
      },
      'inner-package': {
        name: 'inner-package',
        severity: 'moderate',
        isDirect: false,
        via: [
          {
            source: 1099999,
            name: 'inner-package',
            dependency: 'inner-package',
            title: 'Regular expression denial of service',
            url: 'https://github.com/advisories/GHSA-9c47-m6qq-7p4h',
            severity: 'moderate',
            range: '<2.0.0',
          },
          {
            source: 1099999,
            name: 'inner-package',
            dependency: 'inner-package',
            title: 'Regular expression denial of service',
            url: 'https://github.com/advisories/GHSA-9c47-m6qq-7p4h',
            severity: 'moderate',
            range: '<2.0.0',
          },
        ],
        effects: ['parent-package'],
        range: '<2.0.0',
        nodes: ['node_modules/inner-package'],
        fixAvailable: false,
      },
    },
    metadata: {
      vulnerabilities: { info: 0, low: 0, moderate: 2, high: 1, critical: 0, total: 3 },
      dependencies: { prod: 120, dev: 0, optional: 2, peer: 0, peerOptional: 0, total: 121 },
    },
  };
}

const CLEAN = {
  auditReportVersion: 2,
  vulnerabilities: {},
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 } },
};

const INNER: Allowance = {
  id: 'GHSA-9c47-m6qq-7p4h',
  reason: 'only reached with our own constant patterns, no fixed version yet',
  expires: '2026-12-31',
};

function report(decision: AuditDecision): Extract<AuditDecision, { kind: 'report' }> {
  if (decision.kind !== 'report') throw new Error(`expected a report, got ${decision.reason}`);
  return decision;
}

describe('decideAudit', () => {
  it('passes a report without advisories', () => {
    const decision = report(decideAudit(CLEAN, [], NOW));
    expect(decision).toEqual({ kind: 'report', ok: true, findings: [], unused: [] });
    expect(formatDecision(decision)).toEqual([
      'audit: 0 advisories in production dependencies, none unallowed',
    ]);
  });

  it('fails on an advisory that is not allowed, naming each advisory once with its package', () => {
    const decision = report(decideAudit(auditReport(), [INNER], NOW));
    expect(decision.ok).toBe(false);
    expect(decision.findings.map((finding) => [finding.id, finding.package, finding.verdict.status])).toEqual(
      [
        ['GHSA-9c47-m6qq-7p4h', 'inner-package', 'allowed'],
        ['GHSA-mpg4-rc92-vx8v', 'fast-xml-parser', 'not-allowed'],
      ],
    );
    const lines = formatDecision(decision);
    expect(lines).toContain(
      'FAIL (not in dev/audit/allowlist.json): GHSA-mpg4-rc92-vx8v fast-xml-parser (high): ' +
        'Prototype pollution in fast-xml-parser https://github.com/advisories/GHSA-mpg4-rc92-vx8v',
    );
    expect(lines[0]).toMatch(
      /^allowed until 2026-12-31: GHSA-9c47-m6qq-7p4h inner-package .* — only reached/,
    );
  });

  it('passes when every advisory is allowed, through the last day of the allowance', () => {
    const both = [
      INNER,
      { id: 'GHSA-mpg4-rc92-vx8v', reason: 'we parse only the CA answers', expires: '2026-12-31' },
    ];
    expect(report(decideAudit(auditReport(), both, new Date('2026-12-31T23:59:59Z'))).ok).toBe(true);
  });

  it('fails on an allowance past its expiry date', () => {
    const decision = report(
      decideAudit(
        auditReport(),
        [
          { ...INNER, expires: '2026-12-04' },
          { ...INNER, id: 'npm:1102000' },
        ],
        NOW,
      ),
    );
    expect(decision.ok).toBe(false);
    expect(decision.findings[0]?.verdict.status).toBe('expired');
    expect(formatDecision(decision)[0]).toMatch(
      /^FAIL \(allowance expired 2026-12-04\): GHSA-9c47-m6qq-7p4h/,
    );
  });

  it('matches npm:<source> for an advisory without a GHSA url, and names unused allowances', () => {
    const output = auditReport() as { vulnerabilities: Record<string, { via: Record<string, unknown>[] }> };
    output.vulnerabilities['fast-xml-parser']!.via[0]!.url = 'https://www.npmjs.com/advisories/1102000';
    const unused: Allowance = {
      id: 'GHSA-2222-3333-4444',
      reason: 'an advisory fixed long ago',
      expires: '2027-01-01',
    };
    const decision = report(
      decideAudit(
        output,
        [INNER, unused, { id: 'npm:1102000', reason: 'not reachable from here', expires: '2027-01-01' }],
        NOW,
      ),
    );
    expect(decision.ok).toBe(true);
    expect(decision.unused).toEqual([unused]);
    expect(formatDecision(decision)).toContain(
      'note: GHSA-2222-3333-4444 is allowed but no production dependency has it any more: remove it',
    );
  });

  it('tells an unreachable audit endpoint from a report, and whether asking again may help', () => {
    const refused = decideAudit(
      {
        message: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
        statusCode: 405,
      },
      [],
      NOW,
    );
    expect(refused).toEqual({
      kind: 'unavailable',
      reason: '405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk',
      transient: false,
    });
    expect(
      decideAudit(
        { error: { code: 'ENOTFOUND', summary: 'getaddrinfo ENOTFOUND registry.example' } },
        [],
        NOW,
      ),
    ).toEqual({ kind: 'unavailable', reason: 'getaddrinfo ENOTFOUND registry.example', transient: true });
    expect(decideAudit({ message: 'Service Unavailable', statusCode: 503 }, [], NOW)).toMatchObject({
      transient: true,
    });
    expect(decideAudit('not json at all', [], NOW)).toMatchObject({ kind: 'unavailable', transient: true });
  });
});

describe('parseAllowList', () => {
  it('reads the committed allow-list', () => {
    const file = path.join(__dirname, '..', '..', '..', 'dev', 'audit', 'allowlist.json');
    expect(() => parseAllowList(JSON.parse(readFileSync(file, 'utf8')))).not.toThrow();
  });

  it.each([
    [{}, 'an "advisories" array'],
    [
      { advisories: [{ id: 'CVE-2024-1', reason: 'a long enough reason', expires: '2027-01-01' }] },
      'GHSA id',
    ],
    [
      { advisories: [{ id: 'GHSA-2222-3333-4444', reason: 'short', expires: '2027-01-01' }] },
      'needs a reason',
    ],
    [{ advisories: [{ id: 'GHSA-2222-3333-4444', reason: 'a long enough reason' }] }, 'YYYY-MM-DD'],
    [
      { advisories: [{ id: 'GHSA-2222-3333-4444', reason: 'a long enough reason', expires: '2027-13-45' }] },
      'YYYY-MM-DD',
    ],
    [{ advisories: [INNER, INNER] }, 'listed twice'],
  ])('refuses %j', (json, message) => {
    expect(() => parseAllowList(json)).toThrow(message);
  });
});
