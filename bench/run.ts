/**
 * `npm run bench`: the broker's benchmarks, run side by side on this machine and reported as medians, p95
 * and ratios between variants (absolute figures only mean something next to each other). Prints a table,
 * or JSON with --json; writes nothing. Progress goes to stderr.
 *
 *   node dist/bench/run.js [--json] [--quick]
 *
 * --quick runs fewer rounds (a smoke run of the benchmark code, not figures to quote).
 */
import os from 'node:os';
import { startFixture, captureGetPoliciesXml, enrollOnce, USER_PROFILE, type BenchFixture } from './fixture';
import { benchConnectionReuse } from './groups/connection';
import { benchKeyGeneration, benchPfx } from './groups/crypto';
import { benchKeyPool } from './groups/keyPool';
import { benchOperations } from './groups/operations';
import { benchPipeline } from './groups/pipeline';
import { renderSection, type Section } from './report';

interface Options {
  json: boolean;
  quick: boolean;
}

function readOptions(argv: readonly string[]): Options {
  const options: Options = { json: false, quick: false };
  for (const argument of argv) {
    if (argument === '--json') options.json = true;
    else if (argument === '--quick') options.quick = true;
    else if (argument === '--help' || argument === '-h') {
      process.stdout.write('usage: node dist/bench/run.js [--json] [--quick]\n');
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${argument} (use --json, --quick)`);
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
  };
}

async function runGroups(
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

  progress('starting the dev PKI and the PKI-WS simulator');
  const fixture = await startFixture();
  let sections: Section[];
  try {
    sections = await runGroups(fixture, options, progress);
  } finally {
    await fixture.close();
  }
  sections.push(await benchKeyPool(options.quick, progress));
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
