/**
 * Summarises a V8 `.cpuprofile` (what `node --cpu-prof` writes on exit) by pipeline stage: each sample is
 * charged to the innermost frame whose file or function names a stage, so a JSON.parse called by the storage
 * SDK counts as storage, and undici called by the PKI-WS client counts as TLS/undici. Pure: JSON in, figures out.
 *
 * The profile samples the main JavaScript thread only: work on libuv's pool (RSA key generation, async PBKDF2)
 * and on V8's helper threads is not in it (read it from /proc per thread instead, see procStats.ts).
 */

export interface CpuProfileCallFrame {
  functionName: string;
  url: string;
  lineNumber?: number;
  columnNumber?: number;
}

export interface CpuProfileNode {
  id: number;
  callFrame: CpuProfileCallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  /** Microseconds on the monotonic clock (the one process.hrtime reads). */
  startTime: number;
  endTime: number;
  /** The node id of each sample. */
  samples: number[];
  /** Microseconds from the previous sample (the first from startTime). */
  timeDeltas: number[];
}

export const STAGES = [
  'keygen',
  'CSR',
  'PFX',
  'crypto (other)',
  'SOAP/XML',
  'TLS/undici',
  'storage SDK',
  'validation',
  'telemetry',
  'logging (stdout)',
  'pipeline (own code)',
  'garbage collector',
  'native (unattributed)',
  'other',
] as const;
export type Stage = (typeof STAGES)[number];

interface StageRule {
  stage: Stage;
  pattern: RegExp;
}

/** Matched against `url` (file) then `functionName`; the first rule that matches wins. */
const STAGE_RULES: readonly StageRule[] = [
  // console.log and the write to stdout under it (synchronous for pipes and files on Linux).
  { stage: 'logging (stdout)', pattern: /^node:internal\/console\// },
  { stage: 'keygen', pattern: /shared\/crypto\/keys[^/]*\.js$|\bgenerateKeyPair(Sync)?$/ },
  { stage: 'CSR', pattern: /shared\/crypto\/(csr|distinguishedName|sidExtension)\.js$/ },
  { stage: 'PFX', pattern: /shared\/crypto\/(pkcs12|pfx)\.js$/ },
  { stage: 'crypto (other)', pattern: /shared\/crypto\/|shared\/der\/|node_modules\/node-forge\// },
  { stage: 'SOAP/XML', pattern: /shared\/digicert\/(?!undiciIo|transport)|node_modules\/fast-xml-parser\// },
  {
    stage: 'TLS/undici',
    pattern:
      /node_modules\/undici\/|shared\/digicert\/(undiciIo|transport)\.js$|^node:(tls|_tls_\w+|internal\/tls\/)/,
  },
  {
    stage: 'storage SDK',
    pattern:
      /node_modules\/@azure\/(storage-|data-tables|core-|abort-controller|logger)|shared\/(storage|ledger)\/|dev\/host\/queueHost\.js$/,
  },
  { stage: 'validation', pattern: /shared\/contract\/|node_modules\/ajv(-formats)?\// },
  {
    stage: 'telemetry',
    pattern: /shared\/telemetry\/|node_modules\/(applicationinsights|@opentelemetry|@azure\/monitor-)/,
  },
  // Last: the broker's own orchestration, so that what it calls unattributed (JSON, Buffer) is charged to it.
  {
    stage: 'pipeline (own code)',
    pattern:
      /dist\/(shared\/(issuance|mapping|guardrails|delivery|broker|revocation)|functions\/|dev\/host\/host\.js)/,
  },
];

/** The stage a frame names by itself, or undefined when it names none (a builtin, an app file of no stage). */
export function frameStage(frame: CpuProfileCallFrame): Stage | undefined {
  if (frame.functionName === '(garbage collector)') return 'garbage collector';
  if (frame.functionName === '(program)') return 'native (unattributed)';
  const url = frame.url.replace(/\\/g, '/');
  for (const rule of STAGE_RULES) if (url !== '' && rule.pattern.test(url)) return rule.stage;
  for (const rule of STAGE_RULES) if (rule.pattern.test(frame.functionName)) return rule.stage;
  return undefined;
}

export interface StageSummary {
  /** Sampled main-thread CPU in the window, idle excluded, in milliseconds. */
  busyMs: number;
  /** Idle samples (the event loop waiting) in the window, in milliseconds. */
  idleMs: number;
  byStage: Record<Stage, number>;
  /** The frames that took most self time, per stage: `function (file)` → ms, largest first, at most `top`. */
  topFrames: Partial<Record<Stage, { frame: string; ms: number }[]>>;
}

export interface SummaryWindow {
  /** Only samples at or after this time (µs, the profile's clock). */
  fromUs?: number;
  /** Only samples before this time. */
  toUs?: number;
  /** How many top frames to keep per stage (default 5). */
  top?: number;
}

export function summarizeProfileByStage(profile: CpuProfile, window: SummaryWindow = {}): StageSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = new Map<number, Stage>();
  const resolve = (id: number): Stage => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    const node = nodes.get(id);
    const own = node === undefined ? undefined : frameStage(node.callFrame);
    const up = parent.get(id);
    const stage = own ?? (up === undefined ? 'other' : resolve(up));
    stageOf.set(id, stage);
    return stage;
  };

  const byStage = Object.fromEntries(STAGES.map((stage) => [stage, 0])) as Record<Stage, number>;
  const frameMs = new Map<string, { stage: Stage; frame: string; ms: number }>();
  let idleMs = 0;
  let busyMs = 0;
  let time = profile.startTime;
  for (let index = 0; index < profile.samples.length; index += 1) {
    time += profile.timeDeltas[index] ?? 0;
    // A sample stands for the interval up to the next one.
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    if (window.fromUs !== undefined && time < window.fromUs) continue;
    if (window.toUs !== undefined && time >= window.toUs) continue;
    const id = profile.samples[index]!;
    const node = nodes.get(id);
    if (node?.callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const stage = resolve(id);
    byStage[stage] += ms;
    busyMs += ms;
    if (node !== undefined) {
      const { functionName, url } = node.callFrame;
      const key = `${functionName || '(anonymous)'} (${url.replace(/^.*\/(node_modules\/|dist\/)/, '$1') || 'native'})`;
      // The same builtin (JSON.parse) serves several stages: keep them apart.
      const entry = frameMs.get(`${stage}|${key}`) ?? { stage, frame: key, ms: 0 };
      entry.ms += ms;
      frameMs.set(`${stage}|${key}`, entry);
    }
  }
  const top = window.top ?? 5;
  const topFrames: StageSummary['topFrames'] = {};
  for (const stage of STAGES) {
    const frames = [...frameMs.values()]
      .filter((entry) => entry.stage === stage)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map(({ frame, ms }) => ({ frame, ms }));
    if (frames.length > 0) topFrames[stage] = frames;
  }
  return { busyMs, idleMs, byStage, topFrames };
}
