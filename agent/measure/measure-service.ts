/**
 * The agent's tests as a service: runs one in its child process, sends the result as
 * `measurement` telemetry, and turns bad results into faults through the same hysteresis as a
 * probe's (a bad test must repeat before a fault is raised; good ones must repeat to clear it).
 */
import { randomUUID } from 'node:crypto';
import { SCHEMA_VERSION, type MeasurementMessage } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { AgentSink } from '../agent-sink.js';
import type { AgentConfig } from '../config.js';
import { faultMessage } from '../events.js';
import type { FaultCondition, FaultSource } from '../faults/fault-condition.js';
import { FaultTracker } from '../faults/fault-tracker.js';
import { avsyncFaults, networkFaults, noMediaPathFault } from './measure-faults.js';
import type { SignalLink } from './signal-link.js';
import type { TestProgress, TestSettings } from './test-ipc.js';
import { runTestInChild, type TestOutcome } from './test-runner.js';

/** Why a test ran: a person asked, the cloud's schedule, or the check before a lesson. */
export type TestTrigger = 'on-demand' | 'schedule' | 'room-ready';

export interface MeasureServiceOptions {
  config: AgentConfig;
  log: Logger;
  sink: AgentSink;
  link: SignalLink;
  stateDir: string;
  childEntry?: string;
}

export class MeasureService {
  private readonly tracker: FaultTracker;

  constructor(private readonly options: MeasureServiceOptions) {
    const { measure } = options.config;
    this.tracker = new FaultTracker({ raiseAfterCycles: measure.raiseAfterTests, clearAfterCycles: measure.clearAfterTests });
  }

  async run(test: MeasureTest, trigger: TestTrigger, onProgress?: (progress: TestProgress) => void, overrides: TestSettings = {}): Promise<TestOutcome> {
    const { config, log, sink, link, stateDir, childEntry } = this.options;
    const settings: TestSettings = test === 'network' ? { durationMs: config.measure.durationSeconds * 1000, bitrateKbps: config.measure.videoKbps, ...overrides } : { room: roomSettings(config), ...overrides };
    log.info({ test, trigger }, 'test started');
    const outcome = await runTestInChild({ test, settings, link, stateDir, log, ...(onProgress ? { onProgress } : {}), ...(childEntry ? { childEntry } : {}) });
    log.info({ test, trigger, status: outcome.status, wallMs: outcome.wallMs, ...(outcome.status === 'done' ? {} : { reason: outcome.message }) }, 'test finished');
    sink.measurement?.(measurementOf(config, test, trigger, outcome, new Date()));
    const { conditions, readable } = faultsOf(test, outcome);
    for (const transition of this.tracker.observe(conditions, readable, new Date())) sink.fault(faultMessage(config, transition));
    return outcome;
  }
}

/**
 * A finished test says whether its faults are there or gone; a test that could not run (no
 * cloud, killed) says nothing either way, except that no media path is itself a fault.
 */
export function faultsOf(test: MeasureTest, outcome: TestOutcome): { conditions: FaultCondition[]; readable: Set<FaultSource> } {
  if (outcome.status === 'done') {
    const { result } = outcome;
    return { conditions: result.test === 'network' ? networkFaults(result) : avsyncFaults(result), readable: new Set([test]) };
  }
  if (outcome.status === 'failed' && outcome.code === 'MEASURE_NO_PATH') {
    const reflector = /reflector "([^"]+)"/.exec(outcome.message)?.[1] ?? 'unknown';
    return { conditions: [noMediaPathFault(reflector, outcome.message)], readable: new Set([test]) };
  }
  return { conditions: [], readable: new Set() };
}

/** The headline figure as the value (MOS, or the A/V offset in ms), everything else in details; 0 for a test that did not finish. */
export function measurementOf(identity: Pick<AgentConfig, 'agentId' | 'schoolId' | 'roomId'>, test: MeasureTest, trigger: TestTrigger, outcome: TestOutcome, at: Date): MeasurementMessage {
  const base = { schemaVersion: SCHEMA_VERSION, eventId: randomUUID(), agentId: identity.agentId, schoolId: identity.schoolId, roomId: identity.roomId, at: at.toISOString(), type: 'measurement' as const, name: test, deviceId: null };
  const unit = test === 'network' ? 'MOS' : 'ms';
  if (outcome.status === 'done') {
    const { result } = outcome;
    const value = result.test === 'network' ? result.quality.mos : result.summary.offsetMs;
    return { ...base, value, unit, details: { status: 'done', trigger, wallMs: outcome.wallMs, usage: outcome.usage, result } };
  }
  return {
    ...base,
    value: 0,
    unit,
    details: { status: outcome.status, trigger, wallMs: outcome.wallMs, reason: outcome.message, ...(outcome.status === 'failed' ? { code: outcome.code, ...(outcome.usage ? { usage: outcome.usage } : {}) } : { deadlineMs: outcome.deadlineMs }) },
  };
}

/** The room chain's part of the config, with the unset devices left out (the child finds them). */
function roomSettings(config: AgentConfig): NonNullable<TestSettings['room']> {
  const { enabled, camera, microphone, display } = config.measure.room;
  return { enabled, ...(camera === undefined ? {} : { camera }), ...(microphone === undefined ? {} : { microphone }), ...(display === undefined ? {} : { display }) };
}
