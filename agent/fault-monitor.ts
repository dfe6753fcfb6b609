import type { PjlinkInfo } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import { expectationFromConfig, type Expectation } from './faults/expected-devices.js';
import { sourcesReadable, type CycleSnapshot, type FaultCondition } from './faults/fault-condition.js';
import { evaluateFaults } from './faults/fault-rules.js';
import { FaultTracker, type ActiveFault, type FaultTransition } from './faults/fault-tracker.js';
import type { LearnedDevices } from './faults/learned-devices.js';
import { silentLogger, type Logger } from './log.js';

/**
 * Turns cycles into raised and cleared faults: expectations (configured and learned), the pure
 * rules, and the hysteresis tracker. Holds the little memory the rules need between cycles.
 */
export class FaultMonitor {
  private readonly tracker: FaultTracker;
  private readonly lastPjlinkAnswer = new Map<string, PjlinkInfo>();

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
    return evaluateFaults(cycle, { config: this.config, expectations: this.expectations(cycle.at), lastPjlinkAnswer: this.lastPjlinkAnswer });
  }

  /** Feeds one cycle of the running agent; returns the faults raised or cleared by it. */
  observe(cycle: CycleSnapshot): FaultTransition[] {
    const conditions = this.detect(cycle);
    for (const device of cycle.devices) if (device.pjlink) this.lastPjlinkAnswer.set(device.id, device.pjlink);
    const transitions = this.tracker.observe(conditions, sourcesReadable(cycle.sources), cycle.at);
    // Learn after evaluating, so a device seen for the first time is not "expected" in its own cycle.
    if (this.config.learnExpectedDevices && this.learned?.observe(cycle.devices, cycle.at)) this.saveLearned();
    return transitions;
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
