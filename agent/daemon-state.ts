import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { healthSummarySchema, openFaultSchema, REPORT_LIMITS, type FaultMessage, type HealthMessage, type HealthSummary, type OpenFault } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import type { AgentSink } from './agent-sink.js';
import { faultKey } from './faults/fault-condition.js';
import { silentLogger, type Logger } from '../protocol/log.js';
import { healthSummary } from './health-summary.js';

export function daemonStateFile(stateDir: string): string {
  return join(stateDir, 'daemon-state.json');
}

/**
 * What the running agent shares with `avcare-agent report`, which runs as a process of its own:
 * that it runs (pid, and until when the file counts as current), whether it publishes, its recent
 * health samples and the faults it holds raised.
 */
export const daemonStateSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  /** The daemon writes again before this unless it hangs or died: after it, the file is history. */
  currentUntil: z.iso.datetime({ offset: true }),
  stoppedAt: z.iso.datetime({ offset: true }).optional(),
  publishing: z.boolean().describe('It has a broker and sends the outbox, so a report enqueued there will go out'),
  recentHealth: z.array(healthSummarySchema).max(REPORT_LIMITS.recentHealth),
  openFaults: z.array(openFaultSchema).max(REPORT_LIMITS.openFaults),
});
export type DaemonState = z.infer<typeof daemonStateSchema>;

export interface DaemonStateSinkOptions {
  file: string;
  config: Pick<AgentConfig, 'healthIntervalSeconds' | 'probeIntervalSeconds' | 'probeTimeoutSeconds'>;
  publishing: boolean;
  log?: Logger;
  now?: () => Date;
  pid?: number;
}

/**
 * Keeps the daemon-state file from the daemon's own events: a summary of each health sample (the
 * last ten) and the faults raised and not yet cleared. Written on every health sample and fault,
 * by rename, so a reader never sees half a file.
 */
export class DaemonStateSink implements AgentSink {
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly startedAt: string;
  private readonly recentHealth: HealthSummary[] = [];
  private readonly openFaults = new Map<string, OpenFault>();
  private failing = false;

  constructor(private readonly options: DaemonStateSinkOptions) {
    this.log = (options.log ?? silentLogger).child({ module: 'daemon-state' });
    this.now = options.now ?? (() => new Date());
    this.startedAt = this.now().toISOString();
  }

  /** Announces the daemon before its first event, so a report made meanwhile knows it runs. */
  started(): void {
    this.write();
  }

  /** Marks the file as history: a report from now on sends itself. */
  stopped(): void {
    this.write(this.now());
  }

  inventory(): void {
    // The report takes its own inventory; the daemon's would only be older.
  }

  health(message: HealthMessage): void {
    this.recentHealth.push(healthSummary(message.system, new Date(message.at)));
    if (this.recentHealth.length > REPORT_LIMITS.recentHealth) this.recentHealth.shift();
    this.write();
  }

  fault(message: FaultMessage): void {
    const key = faultKey(message);
    if (message.state === 'raised') {
      this.openFaults.set(key, { code: message.code, deviceId: message.deviceId, message: message.message, firstSeenAt: message.firstSeenAt });
    } else {
      this.openFaults.delete(key);
    }
    this.write();
  }

  private write(stoppedAt?: Date): void {
    const { file, config, publishing } = this.options;
    const now = this.now();
    // Health comes every healthIntervalSeconds when publishing, with each cycle otherwise; two
    // missed writes (plus a probe that runs into its timeout) mean the daemon is gone or hung.
    const beatSeconds = Math.max(publishing ? config.healthIntervalSeconds : config.probeIntervalSeconds, 1) * 2 + config.probeTimeoutSeconds * 2;
    const state: DaemonState = {
      pid: this.options.pid ?? process.pid,
      startedAt: this.startedAt,
      updatedAt: now.toISOString(),
      currentUntil: new Date(now.getTime() + beatSeconds * 1000).toISOString(),
      publishing,
      recentHealth: [...this.recentHealth],
      openFaults: [...this.openFaults.values()].slice(0, REPORT_LIMITS.openFaults),
    };
    if (stoppedAt) state.stoppedAt = stoppedAt.toISOString();
    try {
      mkdirSync(dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, JSON.stringify(state), { mode: 0o640 });
      renameSync(temporary, file);
      if (this.failing) this.log.info({ file }, 'daemon state written again');
      this.failing = false;
    } catch (error) {
      // A report then takes its own health sample and faults: worse evidence, not a broken agent.
      if (!this.failing) this.log.warn({ err: error, file }, 'cannot write the daemon state for reports');
      this.failing = true;
    }
  }
}

/** The daemon-state file as written, or undefined when there is none or it is unreadable or invalid. */
export function readDaemonState(file: string): DaemonState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // No daemon ever ran with this state directory, or this user may not read it: the report probes for itself.
    return undefined;
  }
  try {
    const parsed = daemonStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Not JSON (a disk error, a hand edit): the same as no file.
    return undefined;
  }
}

/** True when the daemon that wrote the state still runs: not stopped, written recently, its process alive. */
export function daemonIsRunning(state: DaemonState | undefined, now: Date, processAlive: (pid: number) => boolean = isProcessAlive): boolean {
  if (!state || state.stoppedAt !== undefined) return false;
  if (now.getTime() > Date.parse(state.currentUntil)) return false;
  return processAlive(state.pid);
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user (the avcare service user while a teacher reports).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
