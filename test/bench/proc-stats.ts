import { readFileSync } from 'node:fs';

/** Resident memory and CPU time of a process from /proc: the same numbers `ps` and `top` use. */
export interface ProcSample {
  at: number;
  rssBytes: number;
  /** The part of RSS that is the process's own (heap, stacks): RssAnon. */
  anonBytes: number;
  /** The part mapped from files (the node binary's code, shared libraries), shared with every process that maps them and reclaimable: RssFile. */
  fileBytes: number;
  /** user + system CPU time in seconds since the process started. */
  cpuSeconds: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK); fixed at 100 on x86-64.

export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
  // Field 2 (comm) may hold spaces; the fields after its closing parenthesis are fixed.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { at: performance.now(), rssBytes: kb('VmRSS') * 1024, anonBytes: kb('RssAnon') * 1024, fileBytes: kb('RssFile') * 1024, cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export interface Footprint {
  rssMedianMB: number;
  rssMaxMB: number;
  anonMedianMB: number;
  fileMedianMB: number;
  /** Average CPU over the measured window, in percent of one core. */
  cpuPercent: number;
  samples: number;
}

/** Summarises samples taken after warm-up: the steady state is what a classroom PC lives with. */
export function footprint(samples: readonly ProcSample[]): Footprint {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || samples.length < 2) throw new Error('need at least two samples');
  const mb = samples.map((s) => s.rssBytes / 1024 / 1024);
  const wallSeconds = (last.at - first.at) / 1000;
  return {
    rssMedianMB: round(median(mb)),
    rssMaxMB: round(Math.max(...mb)),
    anonMedianMB: round(median(samples.map((s) => s.anonBytes / 1024 / 1024))),
    fileMedianMB: round(median(samples.map((s) => s.fileBytes / 1024 / 1024))),
    cpuPercent: round(((last.cpuSeconds - first.cpuSeconds) / wallSeconds) * 100, 3),
    samples: samples.length,
  };
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** The files whose mapped pages a process holds resident, largest first, in MB (from /proc/PID/smaps). */
export function residentFiles(pid: number, top = 5): Array<{ file: string; mb: number }> {
  const byFile = new Map<string, number>();
  let file = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) file = mapping[1] ?? '';
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss && file.startsWith('/')) byFile.set(file, (byFile.get(file) ?? 0) + Number(rss[1]));
  }
  return [...byFile.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, kb]) => ({ file: name, mb: round(kb / 1024) }));
}
