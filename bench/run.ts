/**
 * `npm run bench`: the broker's benchmarks, run side by side on this machine and reported as medians, p95
 * and ratios between variants (absolute figures only mean something next to each other). Prints a table,
 * or JSON with --json; writes nothing. Progress goes to stderr.
 *
 *   node dist/bench/run.js [--json] [--quick] [--only in-process|e2e|scale] [--requests N] [--rounds R] [--no-cpu-prof]
 *     [--profile rsa|ec]
 *
 * --quick runs fewer rounds (a smoke run of the benchmark code, not figures to quote). --only picks the
 * in-process groups (1–5) or the end-to-end one (6: the host process on Azurite, Linux only); --requests and
 * --rounds size group 6 (default 64 requests, 3 rounds); --no-cpu-prof runs its host without the profiler.
 * --profile ec has group 6 ask for the simulator's EC P-256 profile instead of its RSA-2048 one.
 * --only scale runs group 7 alone (the scale model checked against two host runs of --requests, default 96).
 */
import os from 'node:os';
import { startFixture, captureGetPoliciesXml, enrollOnce, USER_PROFILE, type BenchFixture } from './fixture';
import { benchConnectionReuse } from './groups/connection';
import { benchEndToEnd } from './groups/e2e';
import { benchScaleModel } from './groups/scale';

/** The simulator's EC P-256 user profile (dev/simulator/profiles.json). */
const EC_PROFILE_OID = '2.16.840.1.113733.1.16.1.2.3.1.1.70010006';
import { benchKeyGeneration, benchPfx } from './groups/crypto';
import { benchKeyPool } from './groups/keyPool';
import { benchOperations } from './groups/operations';
import { benchPipeline } from './groups/pipeline';
import { renderSection, type Section } from './report';

const USAGE =
  'usage: node dist/bench/run.js [--json] [--quick] [--only in-process|e2e|scale] [--requests N] [--rounds R] [--no-cpu-prof] [--profile rsa|ec]';

interface Options {
  json: boolean;
  quick: boolean;
  only?: 'in-process' | 'e2e' | 'scale';
  /** Group 6: requests per round, rounds. */
  requests?: number;
  rounds?: number;
  cpuProfile: boolean;
  /** Group 6: the key kind its requests' profile asks for. */
  profile: 'rsa' | 'ec';
}

function wholeNumber(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a whole number ≥ 1 (got ${raw})`);
  return value;
}

function readOptions(argv: readonly string[]): Options {
  const options: Options = { json: false, quick: false, cpuProfile: true, profile: 'rsa' };
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--json') options.json = true;
    else if (argument === '--quick') options.quick = true;
    else if (argument === '--no-cpu-prof') options.cpuProfile = false;
    else if (argument === '--only') {
      const group = argv[(index += 1)];
      if (group !== 'in-process' && group !== 'e2e' && group !== 'scale')
        throw new Error(`--only takes in-process, e2e or scale (got ${group})`);
      options.only = group;
    } else if (argument === '--requests') options.requests = wholeNumber('--requests', argv[(index += 1)]);
    else if (argument === '--rounds') options.rounds = wholeNumber('--rounds', argv[(index += 1)]);
    else if (argument === '--profile') {
      const profile = argv[(index += 1)];
      if (profile !== 'rsa' && profile !== 'ec')
        throw new Error(`--profile takes rsa or ec (got ${profile})`);
      options.profile = profile;
    } else if (argument === '--help' || argument === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${argument} (${USAGE})`);
    }
  }
  return options;
}

interface Machine {
  cpus: number;
  cpuModel: string;
  node: string;
  openssl: string;
  platform: string;
  totalMemoryGiB: number;
  uvThreadpoolSize: number;
  /** 1, 5 and 15 minute load averages at the start: figures from a busy machine are only good side by side. */
  loadAverage: number[];
}

function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpus: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    openssl: process.versions.openssl ?? 'unknown',
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE ?? 4),
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

async function runEndToEndGroup(options: Options, progress: (line: string) => void): Promise<Section> {
  const requests = options.requests ?? (options.quick ? 4 : 64);
  return benchEndToEnd(
    {
      requests,
      rounds: options.rounds ?? (options.quick ? 1 : 3),
      baselineKeys: options.quick ? 4 : Math.min(32, Math.max(8, requests)),
      coldStartRequests: Math.min(requests, 8),
      cpuProfile: options.cpuProfile,
      timeoutMs: Math.max(60_000, requests * 2_000),
      ...(options.profile === 'ec' ? { profileOid: EC_PROFILE_OID } : {}),
    },
    progress,
  );
}

async function runInProcessGroups(
  fixture: BenchFixture,
  options: Options,
  progress: (line: string) => void,
): Promise<Section[]> {
  const counts = options.quick
    ? { keyRounds: 2, pfxRounds: 4, opsMs: 200, pipelineRounds: 1, pipelinePerRound: 4, connectionRounds: 6 }
    : {
        keyRounds: 16,
        pfxRounds: 20,
        opsMs: 1500,
        pipelineRounds: 4,
        pipelinePerRound: 8,
        connectionRounds: 40,
      };

  const keygen = await benchKeyGeneration(counts.keyRounds, progress);
  const material = await enrollOnce(fixture);
  const pfx = benchPfx(material, counts.pfxRounds, progress);
  const policyXml = await captureGetPoliciesXml(fixture, USER_PROFILE);
  const operations = benchOperations(
    fixture,
    material,
    policyXml,
    { maxMs: counts.opsMs, minRounds: 20, maxRounds: 2000 },
    progress,
  );
  const keygen2048 = (keygen.data.rsa2048 as { medianMs: number }).medianMs;
  const pipeline = await benchPipeline(
    fixture,
    {
      rounds: counts.pipelineRounds,
      requestsPerRound: counts.pipelinePerRound,
      concurrency: 4,
      reference: {
        keygen2048MedianMs: keygen2048,
        planAndCsrMedianMs: operations.medianMs.plan + operations.medianMs.csr,
      },
    },
    progress,
  );
  const connection = await benchConnectionReuse(fixture, counts.connectionRounds, progress);
  return [keygen, pfx, operations.section, pipeline, connection];
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const machine = describeMachine();
  const began = Date.now();
  const progress = (line: string): void => {
    process.stderr.write(`[bench ${((Date.now() - began) / 1000).toFixed(1)} s] ${line}\n`);
  };

  const sections: Section[] = [];
  if (options.only === 'scale') sections.push(await benchScaleModel(options.requests ?? 96, progress));
  else if (options.only !== 'e2e') {
    progress('starting the dev PKI and the PKI-WS simulator');
    const fixture = await startFixture();
    try {
      sections.push(...(await runInProcessGroups(fixture, options, progress)));
    } finally {
      await fixture.close();
    }
  }
  if (options.only === undefined || options.only === 'in-process')
    sections.push(await benchKeyPool(options.quick, progress));
  if (options.only === undefined || options.only === 'e2e')
    sections.push(await runEndToEndGroup(options, progress));
  const elapsedSeconds = (Date.now() - began) / 1000;

  if (options.json) {
    const report = {
      machine,
      quick: options.quick,
      elapsedSeconds: Math.round(elapsedSeconds * 10) / 10,
      groups: sections.map((section) => ({ title: section.title, notes: section.notes, ...section.data })),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const header = [
    `machine   ${machine.cpus} × ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB, ${machine.platform}`,
    `runtime   Node ${machine.node}, OpenSSL ${machine.openssl}, libuv pool ${machine.uvThreadpoolSize} threads`,
    `load      ${machine.loadAverage.join(', ')} (1, 5, 15 min) at the start`,
  ].join('\n');
  const output = [
    `Broker benchmarks${options.quick ? ' (--quick: too few rounds to quote)' : ''}`,
    '',
    header,
    '',
    ...sections.flatMap((section) => [renderSection(section), '']),
    `Total ${elapsedSeconds.toFixed(1)} s, setup included. Compare ratios, not absolute times, across machines.`,
  ];
  process.stdout.write(`${output.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
