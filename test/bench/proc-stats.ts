import { readFileSync } from 'node:fs';

/** Resident memory and CPU time of a process from /proc: the same numbers `ps` and `top` use. */
export interface ProcSample {
  at: number;
  rssBytes: number;
  /** user + system CPU time in seconds since the process started. */
  cpuSeconds: number;
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK); fixed at 100 on x86-64.

export function sampleProcess(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  // Field 2 (comm) may hold spaces; the fields after its closing parenthesis are fixed.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { at: performance.now(), rssBytes: rssKb * 1024, cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND };
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
    cpuPercent: round(((last.cpuSeconds - first.cpuSeconds) / wallSeconds) * 100, 3),
    samples: samples.length,
  };
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
