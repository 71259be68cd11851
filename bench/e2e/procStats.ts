/**
 * CPU time and memory of another process, read from Linux's /proc (the host is a child process, so its own
 * process.cpuUsage is out of reach without a channel to it). CPU counts every thread: the main JavaScript
 * thread, libuv's pool (where RSA keys are generated) and V8's helpers. Linux only.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicksPerSecond: number | undefined;

/** USER_HZ, the unit of utime/stime (100 on every common Linux; asked once from getconf). */
function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** utime + stime in clock ticks, from a /proc/…/stat line (the name in parentheses may hold spaces). */
export function parseStatCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3 of stat(5), utime 14 and stime 15, so 11 and 12 from here.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable stat line: ${stat}`);
  return utime + stime;
}

/** A `Vm…:   1234 kB` line of /proc/…/status, in bytes. */
export function parseStatusKb(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/** The whole process's CPU time so far (all threads, user + system), in milliseconds. */
export function processCpuMs(pid: number): number {
  return (parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) * 1000) / clockTicks();
}

/**
 * Busy CPU time of the whole machine in clock ticks, from the first line of /proc/stat: user, nice, system,
 * irq, softirq and steal (idle and iowait left out). Guest time is already inside user.
 */
export function parseMachineBusyTicks(procStat: string): number {
  const line = procStat.split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) throw new Error(`unreadable /proc/stat line: ${line}`);
  const [user, nice, system, , , irq, softirq, steal] = fields.slice(1, 9).map(Number);
  const busy = [user, nice, system, irq, softirq, steal];
  if (busy.some((value) => !Number.isFinite(value))) throw new Error(`unreadable /proc/stat line: ${line}`);
  return busy.reduce((sum, value) => sum! + value!, 0)!;
}

/** Busy CPU time of every process on the machine so far, in milliseconds (all cores added up). */
export function machineBusyMs(): number {
  return (parseMachineBusyTicks(readFileSync('/proc/stat', 'utf8')) * 1000) / clockTicks();
}

export const MAIN_THREAD = 'main (JavaScript)';
/** Threads Node 20 leaves unnamed: libuv's pool (key generation, async crypto, zlib) and V8's helpers (GC). */
export const POOL_THREADS = 'libuv pool and V8 helpers';

/** The profiler's own thread under --cpu-prof: its time is the measurement's, not the broker's. */
export const PROFILER_THREAD = 'v8:ProfEvntProc';

/**
 * CPU time so far per thread name, summed over same-named threads. Node 20 leaves libuv's pool and V8's
 * helpers with the process's name ("node"), so the main thread (tid = pid) is told apart by its id.
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const name = Number(tid) === pid ? MAIN_THREAD : comm === 'node' ? POOL_THREADS : comm;
      const ms =
        (parseStatCpuTicks(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')) * 1000) / clockTicks();
      byName.set(name, (byName.get(name) ?? 0) + ms);
    } catch {
      // The thread ended between the listing and the read: its time is gone with it (Linux does not keep it).
    }
  }
  return byName;
}

/** A field of /proc/<pid>/status in bytes (VmHWM: peak resident set; RssAnon: heap and buffers…), NaN if absent. */
export function processStatusBytes(pid: number, field: string): number {
  return parseStatusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), field) ?? Number.NaN;
}

/** Peak resident set (VmHWM) and current (VmRSS), in bytes. */
export function processMemory(pid: number): { peakRssBytes: number; rssBytes: number } {
  return { peakRssBytes: processStatusBytes(pid, 'VmHWM'), rssBytes: processStatusBytes(pid, 'VmRSS') };
}

/** after − before per name (threads that appeared count from 0). */
export function threadCpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([name, ms]) => [name, ms - (before.get(name) ?? 0)]));
}

/** A --trace-gc line, "Scavenge 12.3 (15.6) -> 11.2 (16.6) MB": used and committed heap after the collection, in bytes. */
export function parseTraceGcLine(line: string): { usedBytes: number; committedBytes: number } | undefined {
  const match =
    /(?:Scavenge|Mark-Compact|Mark-sweep)[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(([\d.]+)\) MB/.exec(line);
  if (!match) return undefined;
  return { usedBytes: Number(match[1]) * 2 ** 20, committedBytes: Number(match[2]) * 2 ** 20 };
}
