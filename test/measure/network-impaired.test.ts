/**
 * The network test over paths with known trouble: the agent's test in its child process, the
 * reflector in this one, the UDP between them through an impaired relay that keeps the truth.
 * Each bad path becomes the fault it should, through the same hysteresis as a probe's fault.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeasureService, faultsOf } from '../../agent/measure/measure-service.js';
import { parseAgentConfig } from '../../agent/config.js';
import type { FaultMessage, MeasurementMessage } from '../../protocol/index.js';
import { silentLogger } from '../../protocol/log.js';
import type { TestOutcome } from '../../agent/measure/test-runner.js';
import { NO_IMPAIRMENT } from '../sim/impaired-relay.js';
import { MeasureRig } from './measure-rig.js';
import { truthLoss } from '../bench/measure-grid.js';

let rig: MeasureRig;
beforeAll(async () => {
  rig = await MeasureRig.start();
});
afterAll(async () => {
  await rig.close();
});

function networkResult(outcome: TestOutcome) {
  if (outcome.status !== 'done' || outcome.result.test !== 'network') throw new Error(`the test did not finish: ${JSON.stringify(outcome)}`);
  return outcome.result;
}

describe('network test through an impaired path', () => {
  it('a clean path meets the targets and shows no throttling', async () => {
    const { outcome } = await rig.network(NO_IMPAIRMENT, { durationMs: 6_000 });
    const result = networkResult(outcome);
    expect(result.verdict).toBe('meets-targets');
    expect(result.throttle?.throttled).toBe(false);
    expect(faultsOf('network', outcome).conditions).toEqual([]);
  }, 60_000);

  it('a lossy path: loss both ways close to what the relay dropped, and NETWORK_LOSS_HIGH', async () => {
    const { outcome, truth } = await rig.network({ delayMs: 20, jitterMs: 0, lossPercent: 8, rateKbps: 0 }, { durationMs: 6_000 });
    const result = networkResult(outcome);
    // ~600 counted packets a direction at 8 %: a point of sampling noise either side (bench:measure holds the 1-point target on 20 s runs).
    expect(Math.abs((result.up?.lossPercent ?? -100) - truthLoss(truth.up))).toBeLessThanOrEqual(2.5);
    expect(Math.abs(result.down.lossPercent - truthLoss(truth.down))).toBeLessThanOrEqual(2.5);
    expect(result.rttMs).toBeGreaterThan(35);
    expect(result.verdict).toBe('poor');
    const codes = faultsOf('network', outcome).conditions.map((condition) => condition.code);
    expect(codes).toContain('NETWORK_LOSS_HIGH');
    expect(result.throttle?.throttled).toBe(false);
  }, 60_000);

  it('a UDP-only cap: throttling found with the ceiling named, and NETWORK_VIDEO_THROTTLED', async () => {
    const { outcome } = await rig.network({ delayMs: 0, jitterMs: 0, lossPercent: 0, rateKbps: 800 }, { durationMs: 6_000 });
    const result = networkResult(outcome);
    expect(result.throttle).toMatchObject({ throttled: true });
    expect(result.throttle?.capKbps).toBeGreaterThan(500);
    expect(result.throttle?.capKbps).toBeLessThan(1_100);
    const throttled = faultsOf('network', outcome).conditions.find((condition) => condition.code === 'NETWORK_VIDEO_THROTTLED');
    expect(throttled?.message).toMatch(/Video is held to \d+ kbit\/s while a bulk transfer gets \d+ kbit\/s/);
  }, 60_000);

  it('a test that hangs is killed at its deadline and reported as such; the next one runs', async () => {
    const started = Date.now();
    const { outcome } = await rig.network(NO_IMPAIRMENT, {}, { childEntry: resolve(import.meta.dirname, '../sim/hung-test-child.ts'), deadlineMs: 2_000 });
    expect(outcome).toMatchObject({ status: 'killed', deadlineMs: 2_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(faultsOf('network', outcome)).toEqual({ conditions: [], readable: new Set() });
    // The lock was released: another test may run at once.
    const next = await rig.network(NO_IMPAIRMENT, { durationMs: 3_000, bitrateKbps: 500 });
    expect(next.outcome.status).toBe('done');
  }, 60_000);
});

describe('bad results become faults through hysteresis', () => {
  it('raises after the configured number of bad tests, sends each result as a measurement, and clears after good ones', async () => {
    const config = parseAgentConfig({ schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01', stateDir: mkdtempSync(join(tmpdir(), 'avcare-measure-')), measure: { raiseAfterTests: 2, clearAfterTests: 1 } });
    const faults: FaultMessage[] = [];
    const measurements: MeasurementMessage[] = [];
    const service = new MeasureService({
      config,
      log: silentLogger,
      sink: { inventory: () => undefined, health: () => undefined, fault: (message) => faults.push(message), measurement: (message) => measurements.push(message) },
      link: { send: () => Promise.resolve(), subscribe: () => () => undefined },
      stateDir: config.stateDir ?? '',
      childEntry: resolve(import.meta.dirname, '../sim/scripted-test-child.ts'),
    });
    process.env.AVCARE_SCRIPTED_LOSS = '9';
    await service.run('network', 'schedule');
    expect(faults).toEqual([]);
    await service.run('network', 'schedule');
    expect(faults.map((fault) => [fault.code, fault.state])).toEqual([['NETWORK_LOSS_HIGH', 'raised']]);
    expect(faults[0]).toMatchObject({ category: 'network', severity: 'urgent', deviceId: null, messageKey: 'faults.NETWORK_LOSS_HIGH', evidence: { reflectorId: 'scripted' } });
    process.env.AVCARE_SCRIPTED_LOSS = '0';
    await service.run('network', 'room-ready');
    expect(faults.map((fault) => [fault.code, fault.state])).toEqual([
      ['NETWORK_LOSS_HIGH', 'raised'],
      ['NETWORK_LOSS_HIGH', 'cleared'],
    ]);
    expect(measurements.map((message) => [message.name, (message.details as { trigger: string }).trigger])).toEqual([
      ['network', 'schedule'],
      ['network', 'schedule'],
      ['network', 'room-ready'],
    ]);
  }, 60_000);
});
