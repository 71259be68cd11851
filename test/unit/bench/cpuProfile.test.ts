import { frameStage, summarizeProfileByStage, type CpuProfile } from '../../../bench/e2e/cpuProfile';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0, columnNumber: 0 });

/**
 * root ─ processMessage (functions/handlers/issuance.js)
 *         ├─ buildPfx (shared/crypto/pkcs12.js) ─ digest (node:internal/crypto/hash)
 *         ├─ upsertEntity (node_modules/@azure/data-tables/…) ─ parse (JSON, native)
 *         └─ dispatch (node_modules/undici/lib/dispatcher.js)
 * plus (idle), (garbage collector) and (program) under root.
 */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 7, 8, 9] },
    {
      id: 2,
      callFrame: frame('processMessage', 'file:///app/dist/functions/handlers/issuance.js'),
      children: [3, 5, 10],
    },
    { id: 3, callFrame: frame('buildPfx', 'file:///app/dist/shared/crypto/pkcs12.js'), children: [4] },
    { id: 4, callFrame: frame('digest', 'node:internal/crypto/hash') },
    {
      id: 5,
      callFrame: frame(
        'upsertEntity',
        'file:///app/node_modules/@azure/data-tables/dist/commonjs/TableClient.js',
      ),
      children: [6],
    },
    { id: 6, callFrame: frame('parse') },
    { id: 7, callFrame: frame('(idle)') },
    { id: 8, callFrame: frame('(garbage collector)') },
    { id: 9, callFrame: frame('(program)') },
    { id: 10, callFrame: frame('dispatch', 'file:///app/node_modules/undici/lib/dispatcher/client.js') },
  ],
  startTime: 1_000_000,
  endTime: 1_010_000,
  // One sample per millisecond: each stands for the 1 000 µs up to the next one.
  samples: [4, 4, 4, 6, 6, 7, 7, 8, 9, 2, 10, 4],
  timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

describe('the CPU profile summary by stage', () => {
  it('charges each sample to the innermost frame that names a stage', () => {
    const summary = summarizeProfileByStage(PROFILE);
    // The last sample has no next one, so no duration: 11 ms in all, 2 of them idle.
    expect(summary.idleMs).toBe(2);
    expect(summary.busyMs).toBe(9);
    expect(summary.byStage).toMatchObject({
      PFX: 3,
      'storage SDK': 2,
      'garbage collector': 1,
      'native (unattributed)': 1,
      'pipeline (own code)': 1,
      other: 0,
      'TLS/undici': 1,
      keygen: 0,
    });
    expect(summary.topFrames.PFX).toEqual([{ frame: 'digest (node:internal/crypto/hash)', ms: 3 }]);
    expect(summary.topFrames['storage SDK']?.[0]).toEqual({ frame: 'parse (native)', ms: 2 });
  });

  it('counts only the samples inside the window', () => {
    const summary = summarizeProfileByStage(PROFILE, { fromUs: 1_003_000, toUs: 1_005_000 });
    expect(summary.busyMs).toBe(2);
    expect(summary.byStage['storage SDK']).toBe(2);
    expect(summary.byStage.PFX).toBe(0);
  });

  it('maps files and functions to stages, and leaves builtins to their caller', () => {
    expect(frameStage(frame('generateKeyPair', 'node:internal/crypto/keygen'))).toBe('keygen');
    expect(frameStage(frame('createCsr', 'file:///a/dist/shared/crypto/csr.js'))).toBe('CSR');
    expect(frameStage(frame('x', 'file:///a/node_modules/fast-xml-parser/lib/fxp.cjs'))).toBe('SOAP/XML');
    expect(frameStage(frame('x', 'file:///a/dist/shared/digicert/undiciIo.js'))).toBe('TLS/undici');
    expect(frameStage(frame('x', 'file:///a/dist/shared/digicert/enrollment.js'))).toBe('SOAP/XML');
    expect(frameStage(frame('x', 'file:///a/dist/shared/contract/validate.js'))).toBe('validation');
    expect(frameStage(frame('x', 'file:///a/node_modules/applicationinsights/out/x.js'))).toBe('telemetry');
    expect(frameStage(frame('x', 'file:///a/dist/shared/ledger/tableLedger.js'))).toBe('storage SDK');
    expect(frameStage(frame('log', 'node:internal/console/constructor'))).toBe('logging (stdout)');
    expect(frameStage(frame('x', 'file:///a/dist/shared/issuance/pipeline.js'))).toBe('pipeline (own code)');
    expect(frameStage(frame('parse'))).toBeUndefined();
  });
});
