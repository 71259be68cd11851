/**
 * Runs the PKI-WS simulator on its own:
 *   node dist/dev/simulator/main.js --pki .local/pki --port 8443 [--host 127.0.0.1] [--profiles file]
 *     [--search-start-index 0|1] [--search-count page|total] [--search-no-more-flag]
 *     [--ec-algorithm ecPublicKey|ecdsa-with-SHA256]
 * Creates (or reuses) the dev PKI in --pki, prints the listening URL and the files a client needs, and stops
 * cleanly on SIGTERM / SIGINT.
 */
import { ensureDevPki } from '../pki/devPki';
import type { SearchReading } from './management';
import { EC_ALGORITHM_READINGS, type EcAlgorithmReading } from './profiles';
import { startPkiWsSimulator, type Simulator } from './server';

export interface SimulatorCliOptions {
  pkiDir: string;
  port: number;
  host: string;
  profilesFile?: string;
  quiet: boolean;
  /** How searchCertificate pages (the readings no document settles). */
  searchReading: Partial<Omit<SearchReading, 'pageSize'>>;
  /** What the EC profiles' algorithmOIDReference names (the key or the signature algorithm). */
  ecAlgorithmReading?: EcAlgorithmReading;
}

export const SIMULATOR_USAGE =
  'usage: node dist/dev/simulator/main.js [--pki <dir>] [--port <n>] [--host <address>] [--profiles <file>] [--quiet]\n' +
  '       [--search-start-index 0|1] [--search-count page|total] [--search-no-more-flag]\n' +
  '       [--ec-algorithm ecPublicKey|ecdsa-with-SHA256]';

export function parseSimulatorArgs(argv: string[]): SimulatorCliOptions {
  const options: SimulatorCliOptions = {
    pkiDir: '.local/pki',
    port: 8443,
    host: '127.0.0.1',
    quiet: false,
    searchReading: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--'))
        throw new Error(`${arg} needs a value\n${SIMULATOR_USAGE}`);
      return next;
    };
    switch (arg) {
      case '--pki':
        options.pkiDir = value();
        break;
      case '--port': {
        const text = value();
        const port = Number(text);
        if (!/^\d+$/.test(text) || port > 65535) throw new Error(`--port "${text}" is not a port number`);
        options.port = port;
        break;
      }
      case '--host':
        options.host = value();
        break;
      case '--profiles':
        options.profilesFile = value();
        break;
      case '--quiet':
        options.quiet = true;
        break;
      case '--search-start-index': {
        const text = value();
        if (text !== '0' && text !== '1') throw new Error(`--search-start-index takes 0 or 1, not "${text}"`);
        options.searchReading.startIndexBase = text === '0' ? 0 : 1;
        break;
      }
      case '--search-count': {
        const text = value();
        if (text !== 'page' && text !== 'total') {
          throw new Error(`--search-count takes page or total, not "${text}"`);
        }
        options.searchReading.certificateCount = text;
        break;
      }
      case '--search-no-more-flag':
        options.searchReading.moreFlag = false;
        break;
      case '--ec-algorithm': {
        const text = value();
        const reading = EC_ALGORITHM_READINGS.find((candidate) => candidate === text);
        if (reading === undefined) {
          throw new Error(`--ec-algorithm takes ${EC_ALGORITHM_READINGS.join(' or ')}, not "${text}"`);
        }
        options.ecAlgorithmReading = reading;
        break;
      }
      default:
        throw new Error(`unknown argument "${arg}"\n${SIMULATOR_USAGE}`);
    }
  }
  return options;
}

/** Starts the simulator from CLI arguments; `print` receives the human-readable lines. */
export async function runSimulatorCli(
  argv: string[],
  print: (line: string) => void = console.log,
): Promise<Simulator> {
  const options = parseSimulatorArgs(argv);
  const pki = await ensureDevPki(options.pkiDir);
  const simulator = await startPkiWsSimulator({
    pki,
    port: options.port,
    host: options.host,
    profilesFile: options.profilesFile,
    searchReading: options.searchReading,
    ...(options.ecAlgorithmReading === undefined ? {} : { ecAlgorithmReading: options.ecAlgorithmReading }),
    log: options.quiet ? undefined : print,
  });
  print(
    `PKI-WS simulator listening at ${simulator.url}/pki-ws/ (certificateAuthority "${simulator.authority}")`,
  );
  print(`  server trust (TLS root):   ${pki.tlsRootCa.certPath}`);
  print(`  RA client certificate:     ${pki.ra.pfxPath} (password in ${pki.ra.pfxPasswordPath})`);
  print(`  profiles:                  ${simulator.profiles.map((profile) => profile.profileOid).join(', ')}`);
  return simulator;
}

if (require.main === module) {
  runSimulatorCli(process.argv.slice(2))
    .then((simulator) => {
      const stop = (signal: string): void => {
        console.log(`${signal}: stopping the PKI-WS simulator`);
        simulator.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    })
    .catch((error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    });
}
