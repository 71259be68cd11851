/**
 * The layering of docs/architecture.md, enforced: a file that imports across a boundary it must not cross
 * fails this test with the file, the line and the rule.
 */
import { REPO_ROOT } from '../../support/teamShared';
import {
  importsOf,
  isUnder,
  projectImports,
  violations,
  type ImportEdge,
  type ImportRule,
} from '../../support/importGraph';

/** Pure code: request + policy in, names, DER and JSON out. No I/O, so it is tested with tables. */
const PURE = ['shared/contract', 'shared/der', 'shared/mapping', 'shared/crypto', 'shared/guardrails'];
/** What pure code may use besides itself: computation only. */
const PURE_PACKAGES = ['node:crypto', 'node-forge', 'ajv', 'ajv-formats'];
/** Adapters talk to one outside system each, behind an interface the jobs use. */
const ADAPTERS = [
  'shared/digicert',
  'shared/ledger',
  'shared/storage',
  'shared/ra-credential',
  'shared/identity',
  'shared/request-signing',
];
/** The jobs and the composition root: they use adapters, adapters never use them. */
const ORCHESTRATION = [
  'shared/issuance',
  'shared/revocation',
  'shared/pipeline',
  'shared/broker',
  'shared/delivery',
];
const NOT_DEPLOYED = ['dev', 'cli', 'test', 'bench'];

const under = (prefixes: readonly string[]) => (path: string) =>
  prefixes.some((prefix) => isUnder(path, prefix));
const isPackage = (target: string) =>
  !NOT_DEPLOYED.concat('functions', 'shared').some((top) => isUnder(target, top));
const packageName = (target: string) =>
  target.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0];

const RULES: ImportRule[] = [
  {
    name: 'deployed code stays deployable',
    from: under(['functions', 'shared']),
    forbids: (edge) => under(NOT_DEPLOYED)(edge.target),
    why: 'functions/ and shared/ are packaged by `npm run build`; dev/, cli/, test/ and bench/ are not.',
  },
  {
    name: 'the programming model stays at the edge',
    from: under(['shared']),
    forbids: (edge) => packageName(edge.target) === '@azure/functions',
    why: 'only functions/ (and the local host in dev/) know @azure/functions; shared/ is plain TypeScript.',
  },
  {
    name: 'functions reach adapters through the composition root',
    from: under(['functions']),
    forbids: (edge) => under([...ADAPTERS, 'shared/mapping', 'shared/crypto'])(edge.target),
    why: 'a function registers a trigger and hands the message to what shared/broker.ts composed.',
  },
  {
    name: 'pure code stays pure',
    from: under(PURE),
    forbids: (edge) =>
      isPackage(edge.target)
        ? !PURE_PACKAGES.includes(packageName(edge.target))
        : !under(PURE)(edge.target) && !(edge.typeOnly && edge.target === 'shared/digicert/types'),
    why: 'contract, der, mapping, crypto and guardrails do no I/O; they may use the CA types, type-only.',
  },
  {
    name: 'the contract is the bottom layer',
    from: under(['shared/contract']),
    forbids: (edge) => !isPackage(edge.target) && !isUnder(edge.target, 'shared/contract'),
    why: 'every layer speaks the contract; the contract depends on no other part of the broker.',
  },
  {
    name: 'adapters do not know the jobs',
    from: under([...ADAPTERS, 'shared/telemetry', 'shared/config']),
    forbids: (edge) => under(ORCHESTRATION)(edge.target),
    why: 'an adapter is replaced or tested alone; the issuing and revoking jobs depend on it, not the reverse.',
  },
  {
    name: 'tools do not reach into tests',
    from: under(['functions', 'shared', 'cli', 'dev', 'bench']),
    forbids: (edge) => isUnder(edge.target, 'test'),
    why: 'test/ is not installed where the tools run.',
  },
];

describe('the import rules of docs/architecture.md', () => {
  const edges = projectImports(REPO_ROOT);

  it('reads the project (so an empty scan cannot pass)', () => {
    expect(edges.filter((edge) => edge.file.startsWith('shared/')).length).toBeGreaterThan(200);
    expect(edges.filter((edge) => edge.file.startsWith('functions/')).length).toBeGreaterThan(5);
  });

  it('holds for every file', () => {
    expect(violations(edges, RULES)).toEqual([]);
  });

  it.each([
    ['functions/x.ts', "import { y } from '../dev/host/stack';", 'deployed code stays deployable'],
    [
      'shared/ledger/x.ts',
      "import { app } from '@azure/functions';",
      'the programming model stays at the edge',
    ],
    [
      'functions/x.ts',
      "import { TableLedger } from '../shared/ledger/tableLedger';",
      'functions reach adapters',
    ],
    ['shared/mapping/x.ts', "import { request } from 'undici';", 'pure code stays pure'],
    ['shared/crypto/x.ts', "const fs = require('node:fs');", 'pure code stays pure'],
    ['shared/mapping/x.ts', "import { policyOf } from '../digicert/policy';", 'pure code stays pure'],
    ['shared/mapping/x.ts', "import { type X } from '../ledger/types';", 'pure code stays pure'],
    ['shared/contract/x.ts', "export { plan } from '../mapping/plan';", 'the contract is the bottom layer'],
    [
      'shared/digicert/x.ts',
      "import type { P } from '../issuance/pipeline';",
      'adapters do not know the jobs',
    ],
    ['dev/x.ts', "const s = await import('../test/support/xsd');", 'tools do not reach into tests'],
  ])('catches %s: %s', (file, text, rule) => {
    const found = violations(importsOf(file, text), RULES);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(rule);
  });

  it.each([
    ['shared/mapping/x.ts', "import type { ProfilePolicy } from '../digicert/types';"],
    ['shared/mapping/x.ts', "import { type ProfilePolicy } from '../digicert/types';"],
    ['shared/crypto/x.ts', "import { createHash } from 'node:crypto';"],
    ['shared/contract/x.ts', "import Ajv from 'ajv/dist/2020';"],
    ['functions/x.ts', "import { app } from '@azure/functions';"],
    ['cli/x.ts', "import { startLocalStack } from '../dev/host/stack';"],
  ])('allows %s: %s', (file, text) => {
    const edge: ImportEdge[] = importsOf(file, text);
    expect(edge).toHaveLength(1);
    expect(violations(edge, RULES)).toEqual([]);
  });
});
