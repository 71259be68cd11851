/**
 * The dev PKI-WS simulator as most integration and end-to-end tests start it: a fresh dev PKI in a temporary
 * folder of the test's own (its CAs, the RA and recipient certificates, the TLS certificates) and the
 * simulator over mutual TLS on 127.0.0.1 with it. Plus the CA client the broker builds from the dev RA PFX.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDevPki, type DevPki } from '../../dev/pki/devPki';
import { startPkiWsSimulator, type Simulator, type SimulatorOptions } from '../../dev/simulator/server';
import type { BrokerSettings } from '../../shared/config/settings';
import { PkiWsClient } from '../../shared/digicert';
import { FileRaCredentialSource } from '../../shared/ra-credential';
import type { RaCredentialSource } from '../../shared/ra-credential/types';

export interface DevSimulator {
  /** The test's temporary folder: free for its own files, removed by close(). */
  dir: string;
  /** Where the dev PKI lies (a folder inside `dir`). */
  pkiDir: string;
  pki: DevPki;
  simulator: Simulator;
  /** Stops the simulator and removes `dir`. */
  close(): Promise<void>;
}

/** A new dev PKI in a temporary folder named `prefix`…, and the simulator on it (with `options`). */
export async function startDevSimulator(
  prefix: string,
  options: Omit<SimulatorOptions, 'pki'> = {},
): Promise<DevSimulator> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const pkiDir = path.join(dir, 'pki');
  try {
    const pki = await ensureDevPki(pkiDir);
    const simulator = await startPkiWsSimulator({ ...options, pki });
    return {
      dir,
      pkiDir,
      pki,
      simulator,
      close: async () => {
        await simulator.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The broker's CA client against the simulator: the RA credential read from the dev RA PFX file (unless
 * another `credential` is given), the dev TLS root trusted explicitly.
 */
export function devCaClient(
  pki: DevPki,
  settings: BrokerSettings,
  credential: RaCredentialSource = new FileRaCredentialSource({
    pfxFile: pki.ra.pfxPath,
    password: pki.ra.pfxPassword,
  }),
): PkiWsClient {
  return new PkiWsClient({ settings, credential, extraTrustedCaPem: [pki.tlsRootCa.certPem] });
}
