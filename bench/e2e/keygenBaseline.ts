/**
 * The end-to-end bench's baseline, as a process of its own: generates RSA-2048 keys with Node's native async
 * generator, two at a time (one per core of the 2-core reference machine), and prints one JSON line with the
 * CPU time of the whole process (every thread) per key. Nothing else runs in it, so that is the bare cost of a
 * key.
 *
 *   node dist/bench/e2e/keygenBaseline.js <keys>
 */
import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

async function generatePairs(keys: number): Promise<void> {
  for (let done = 0; done < keys; done += 2) {
    const batch = Math.min(2, keys - done);
    await Promise.all(Array.from({ length: batch }, () => generate('rsa', { modulusLength: 2048 })));
  }
}

async function main(): Promise<void> {
  const keys = Number(process.argv[2] ?? 16);
  if (!Number.isInteger(keys) || keys < 2)
    throw new RangeError(`keys must be a whole number ≥ 2 (got ${keys})`);
  // Warm-up: starts the pool threads and loads OpenSSL's RSA code, as a running broker has.
  await generatePairs(2);
  const cpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  await generatePairs(keys);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = Number(process.hrtime.bigint() - wallBefore) / 1e6;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  process.stdout.write(`${JSON.stringify({ keys, cpuMs, wallMs, cpuPerKeyMs: cpuMs / keys })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`keygen baseline failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
