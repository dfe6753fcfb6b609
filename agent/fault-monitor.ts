import type { PjlinkInfo } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import { expectationFromConfig, type Expectation } from './faults/expected-devices.js';
import { faultKey, sourcesReadable, type CycleSnapshot, type FaultCondition } from './faults/fault-condition.js';
import { evaluateFaults } from './faults/fault-rules.js';
import { FaultTracker, type ActiveFault, type FaultTransition } from './faults/fault-tracker.js';
import type { LearnedDevices } from './faults/learned-devices.js';
import { ControllerLinks } from './faults/controller-links.js';
import { ConnectionLog, connectionEventOf, type ConnectionEvent, type HotplugChange } from './faults/unstable-connection.js';
import { silentLogger, type Logger } from '../protocol/log.js';
import { withActions } from './remediation/remediation-plan.js';
import type { FaultRemediator, RemediationReport } from './remediation/remediator.js';

export interface ObserveOptions {
  /** Tries the fix for each fault about to be raised; without it faults are raised as seen. */
  remediator?: FaultRemediator;
  /** Ends the remediation early (the agent is stopping). */
  signal?: AbortSignal;
}

/**
 * Turns cycles into raised and cleared faults: expectations (configured and learned), the pure
 * rules, and the hysteresis tracker. Holds the little memory the rules need between cycles.
 */
export class FaultMonitor {
  private readonly tracker: FaultTracker;
  private readonly lastPjlinkAnswer = new Map<string, PjlinkInfo>();
  private readonly connections = new ConnectionLog();
  private readonly controllerLinks = new ControllerLinks();

  constructor(
    private readonly config: AgentConfig,
    private readonly learned: LearnedDevices | null,
    private readonly log: Logger = silentLogger,
  ) {
    this.tracker = new FaultTracker({
      raiseAfterCycles: config.hysteresis.raiseAfterCycles,
      clearAfterCycles: config.hysteresis.clearAfterCycles,
      raiseAfterFor: { CPU_SUSTAINED_HIGH: config.thresholds.cpuSustainedCycles },
    });
  }

  /** Faults this cycle shows, before hysteresis: what a one-shot `probe` reports. */
  detect(cycle: CycleSnapshot): FaultCondition[] {
    return evaluateFaults(cycle, { config: this.config, expectations: this.expectations(cycle.at), lastPjlinkAnswer: this.lastPjlinkAnswer, connectionEvents: this.connections.all(), controllerEvents: this.controllerLinks.events() });
  }

  /** A USB device plugged in or out: counted per port for DEVICE_UNSTABLE_CONNECTION. */
  recordConnection(change: HotplugChange, at: Date = new Date()): void {
    const event = connectionEventOf(change, at.getTime());
    if (event) this.connections.record(event);
  }

  /** A connect or disconnect read from elsewhere (a pasted kernel log). */
  recordConnectionEvent(event: ConnectionEvent): void {
    this.connections.record(event);
  }

  /**
   * Feeds one cycle of the running agent; returns the faults raised or cleared by it. A fault
   * about to be raised is first remediated: one the fix cured is left out of the cycle (it counts
   * as not seen), one it did not is raised saying what was tried.
   */
  async observe(cycle: CycleSnapshot, options: ObserveOptions = {}): Promise<FaultTransition[]> {
    this.controllerLinks.observe(cycle.devices, cycle.at);
    const seen = this.detect(cycle);
    const conditions = options.remediator ? await this.remediate(seen, cycle, options.remediator, options.signal) : seen;
    for (const device of cycle.devices) if (device.pjlink) this.lastPjlinkAnswer.set(device.id, device.pjlink);
    const transitions = this.tracker.observe(conditions, sourcesReadable(cycle.sources), cycle.at);
    // Learn after evaluating, so a device seen for the first time is not "expected" in its own cycle.
    if (this.config.learnExpectedDevices && this.learned?.observe(cycle.devices, cycle.at)) this.saveLearned();
    return transitions;
  }

  private async remediate(conditions: FaultCondition[], cycle: CycleSnapshot, remediator: FaultRemediator, signal: AbortSignal | undefined): Promise<FaultCondition[]> {
    const due = this.tracker.wouldRaise(conditions);
    if (due.length === 0) return conditions;
    const context = { cycle, detect: (snapshot: CycleSnapshot) => this.detect(snapshot) };
    let report: RemediationReport;
    try {
      report = await remediator.remediate(due, signal === undefined ? context : { ...context, signal });
    } catch (error) {
      // A fix that fails must not keep the fault from being raised.
      this.log.error({ err: error }, 'remediation failed; raising the faults as seen');
      return conditions;
    }
    return conditions.filter((condition) => !report.fixed.has(faultKey(condition))).map((condition) => withActions(condition, report.actions.get(faultKey(condition)) ?? []));
  }

  private saveLearned(): void {
    try {
      this.learned?.save();
    } catch (error) {
      // Faults still work from memory; only what was learned this run would be lost on restart.
      this.log.warn({ err: error }, 'cannot save learned devices');
    }
  }

  active(): ActiveFault[] {
    return this.tracker.active();
  }

  expectations(now: Date): Expectation[] {
    const configured = this.config.expectedDevices.map(expectationFromConfig);
    if (!this.config.learnExpectedDevices || !this.learned) return configured;
    return [...configured, ...withoutConfigured(this.learned.expectations(now, this.config.forgetLearnedAfterDays), configured)];
  }
}

/** A learned device the configuration already names is expected once, not twice. */
function withoutConfigured(learned: Expectation[], configured: Expectation[]): Expectation[] {
  return learned.filter((l) => !configured.some((c) => c.kind === l.kind && (c.vendorId === undefined || c.vendorId === l.vendorId) && (c.productId === undefined || c.productId === l.productId)));
}
