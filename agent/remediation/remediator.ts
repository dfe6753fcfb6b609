import { setTimeout as sleep } from 'node:timers/promises';
import { AvcareError, type ProbeSource } from '../../protocol/index.js';
import type { AgentConfig } from '../config.js';
import { runProbeCycle } from '../cycle.js';
import { faultKey, type CycleSnapshot, type FaultCondition } from '../faults/fault-condition.js';
import type { Logger } from '../../protocol/log.js';
import type { Probe } from '../probes/probe.js';
import type { openSerialLink } from '../probes/serial-link.js';
import type { openViscaIpLink } from '../probes/visca-ip-link.js';
import { actionResult, judgeReprobe, planRemediations, RemediationHistory, type RemediationAction, type RemediationJob, type RemediationStep } from './remediation-plan.js';
import { LibusbResetter, type UsbResetter } from './usb-reset.js';
import { reinitViscaIpCamera } from './visca-ip-reinit.js';
import { reinitViscaPort } from './visca-reinit.js';

/** What remediating the faults about to be raised came to, by fault key. */
export interface RemediationReport {
  /** Re-probed clean after the fix: not to be raised. */
  fixed: Set<string>;
  /** What was tried for each fault still to be raised (within the cooldown, newest last). */
  actions: Map<string, RemediationAction[]>;
}

export interface RemediationContext {
  cycle: CycleSnapshot;
  /** The monitor's rules: whether the fault still shows after the fix. */
  detect(snapshot: CycleSnapshot): FaultCondition[];
  signal?: AbortSignal;
}

/** The fault monitor's view of remediation; replaceable in tests. */
export interface FaultRemediator {
  remediate(due: readonly FaultCondition[], context: RemediationContext): Promise<RemediationReport>;
}

export interface RemediatorOptions {
  config: AgentConfig;
  log: Logger;
  /** The agent's probes: after a fix, those of the fault's sources run again. */
  probes: readonly Probe[];
  usbResetter?: UsbResetter;
  openSerial?: typeof openSerialLink;
  openViscaIp?: typeof openViscaIpLink;
  /** Wait for each IF_Clear and Address Set reply. */
  viscaReplyTimeoutMs?: number;
  /** Pause before the fresh PJLink connection: a projector that just dropped one may refuse the next at once. */
  pjlinkPauseMs?: number;
  /** A reset device re-enumerates and its drivers bind again before it can be probed. */
  usbSettleMs?: number;
  now?: () => Date;
}

const DEFAULT_PJLINK_PAUSE_MS = 2000;
/** As long as the daemon waits after a hotplug event: a replug settles in a second or two. */
const DEFAULT_USB_SETTLE_MS = 2000;

/**
 * Runs the fixes the plan allows, within the configured time budget, then probes each device
 * again to tell whether the fault is gone. Jobs in different lanes (USB, serial, PJLink) run
 * side by side; a job never throws, it only ends with a sentence saying what happened.
 */
export class Remediator implements FaultRemediator {
  private readonly history: RemediationHistory;
  private readonly log: Logger;
  private readonly usbResetter: UsbResetter;
  private readonly now: () => Date;

  constructor(private readonly options: RemediatorOptions) {
    this.log = options.log.child({ module: 'remediation' });
    this.history = new RemediationHistory(options.config.remediation.cooldownMinutes * 60_000);
    this.usbResetter = options.usbResetter ?? new LibusbResetter({ log: this.log });
    this.now = options.now ?? (() => new Date());
  }

  async remediate(due: readonly FaultCondition[], context: RemediationContext): Promise<RemediationReport> {
    const report: RemediationReport = { fixed: new Set(), actions: new Map() };
    const { remediation } = this.options.config;
    if (!remediation.enabled || due.length === 0) return report;
    const plan = planRemediations(due, { config: this.options.config, devices: context.cycle.devices, history: this.history, now: this.now() });
    for (const { condition, earlier } of plan.skipped) if (earlier.length > 0) report.actions.set(faultKey(condition), earlier);
    if (plan.jobs.length === 0) return report;

    const budget = new AbortController();
    const timer = setTimeout(
      () => budget.abort(new AvcareError('PROBE_TIMEOUT', `remediation did not finish within its budget of ${remediation.budgetSeconds} s`, { budgetSeconds: remediation.budgetSeconds })),
      remediation.budgetSeconds * 1000,
    );
    const signal = context.signal ? AbortSignal.any([context.signal, budget.signal]) : budget.signal;
    try {
      await Promise.all([...byLane(plan.jobs).values()].map(async (jobs) => {
        for (const job of jobs) await this.runJob(job, context, signal, report);
      }));
    } finally {
      clearTimeout(timer);
    }
    return report;
  }

  private async runJob(job: RemediationJob, context: RemediationContext, signal: AbortSignal, report: RemediationReport): Promise<void> {
    const faults = job.conditions.map(faultKey);
    if (signal.aborted) {
      // Not tried, so not reported as tried: the fault is raised as it is.
      this.log.warn({ faults, action: job.step.action, reason: reasonOf(signal.reason) }, 'remediation not tried: no time left in this cycle');
      return;
    }
    const started = this.now();
    this.log.debug({ faults, action: job.step.action }, 'trying a remediation before raising');
    const done = await this.runStep(job.step, signal);
    const snapshot = await runProbeCycle(this.probesFor(job.reprobe.sources), { config: job.reprobe.config, log: this.log }, { signal, now: this.now });
    const detected = context.detect(snapshot);
    for (const condition of job.conditions) {
      const verdict = judgeReprobe(condition, snapshot, detected);
      const action: RemediationAction = { action: job.step.action, at: started.toISOString(), result: actionResult(done, verdict) };
      this.history.record(condition, action);
      const key = faultKey(condition);
      if (verdict.fixed) {
        report.fixed.add(key);
        this.log.info({ code: condition.code, deviceId: condition.deviceId, action: action.action, result: action.result }, `${action.action} fixed ${condition.code} before it was raised`);
      } else {
        report.actions.set(key, this.history.earlier(condition, this.now()));
      }
    }
  }

  /** The fix itself, as a sentence for the evidence; any failure becomes part of the sentence. */
  private async runStep(step: RemediationStep, signal: AbortSignal): Promise<string> {
    try {
      switch (step.action) {
        case 're-probe':
          return 'probed the device again';
        case 'usb-reset': {
          const outcome = await this.usbResetter.reset(step.usb, signal);
          if (outcome.reset) await sleep(this.options.usbSettleMs ?? DEFAULT_USB_SETTLE_MS, undefined, { signal });
          return outcome.result;
        }
        case 'visca-reinit': {
          const { openSerial, openViscaIp, viscaReplyTimeoutMs } = this.options;
          if ('ip' in step) {
            return await reinitViscaIpCamera(step.ip, {
              signal,
              log: this.log,
              ...(openViscaIp === undefined ? {} : { open: openViscaIp }),
              ...(viscaReplyTimeoutMs === undefined ? {} : { timeoutMs: viscaReplyTimeoutMs }),
            });
          }
          return await reinitViscaPort(step, {
            signal,
            log: this.log,
            ...(openSerial === undefined ? {} : { open: openSerial }),
            ...(viscaReplyTimeoutMs === undefined ? {} : { timeoutMs: viscaReplyTimeoutMs }),
          });
        }
        case 'pjlink-reconnect': {
          const pauseMs = this.options.pjlinkPauseMs ?? DEFAULT_PJLINK_PAUSE_MS;
          await sleep(pauseMs, undefined, { signal });
          return `waited ${formatSeconds(pauseMs)} and asked ${step.host}:${step.port} again on a fresh connection`;
        }
      }
    } catch (error) {
      return `${step.action} did not finish: ${reasonOf(signal.aborted ? signal.reason : error)}`;
    }
  }

  private probesFor(sources: readonly ProbeSource[]): Probe[] {
    return this.options.probes.filter((probe) => sources.includes(probe.id));
  }
}

function byLane(jobs: readonly RemediationJob[]): Map<RemediationJob['lane'], RemediationJob[]> {
  const lanes = new Map<RemediationJob['lane'], RemediationJob[]>();
  for (const job of jobs) lanes.set(job.lane, [...(lanes.get(job.lane) ?? []), job]);
  return lanes;
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function reasonOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
