import { describe, expect, it } from 'vitest';
import type { ProbeSource } from '../../protocol/index.js';
import type { FaultCondition } from './fault-condition.js';
import { FaultTracker } from './fault-tracker.js';

const cable: FaultCondition = { code: 'DEVICE_MISSING', deviceId: 'expected:usb:camera', source: 'usb', message: 'camera missing', messageKey: 'faults.DEVICE_MISSING.config', params: { label: 'camera' }, evidence: {} };
const usbReadable: ReadonlySet<ProbeSource> = new Set(['usb']);
const nothingReadable: ReadonlySet<ProbeSource> = new Set();

function run(tracker: FaultTracker, pattern: string, readable = usbReadable) {
  return [...pattern].flatMap((cycle, index) => tracker.observe(cycle === 'x' ? [cable] : [], readable, new Date(index * 60_000)).map((t) => `${index}:${t.state}`));
}

describe('FaultTracker hysteresis', () => {
  it('raises only after the fault is seen in raiseAfterCycles cycles', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 2, clearAfterCycles: 3 });
    expect(run(tracker, 'x')).toEqual([]);
    expect(tracker.observe([cable], usbReadable, new Date(60_000)).map((t) => t.state)).toEqual(['raised']);
    expect(tracker.active().map((a) => a.condition.code)).toEqual(['DEVICE_MISSING']);
  });

  it('clears only after clearAfterCycles clean cycles in a row', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 1, clearAfterCycles: 3 });
    expect(run(tracker, 'x..x...')).toEqual(['0:raised', '6:cleared']);
  });

  it('turns a flapping cable into one raised fault, not a storm', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 2, clearAfterCycles: 3 });
    expect(run(tracker, 'x.x.x.x.x.x.x.x.')).toEqual(['2:raised']);
    expect(tracker.active()).toHaveLength(1);
  });

  it('forgets a single glitch that does not return within the clear window', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 2, clearAfterCycles: 3 });
    expect(run(tracker, 'x...x...')).toEqual([]);
  });

  it('keeps a raised fault while its source cannot be read', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 1, clearAfterCycles: 2 });
    expect(run(tracker, 'x')).toEqual(['0:raised']);
    for (let i = 0; i < 5; i += 1) expect(tracker.observe([], nothingReadable, new Date())).toEqual([]);
    expect(tracker.active()).toHaveLength(1);
  });

  it('applies a per-code sighting count for sustained conditions', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 1, clearAfterCycles: 2, raiseAfterFor: { CPU_SUSTAINED_HIGH: 3 } });
    const cpu: FaultCondition = { code: 'CPU_SUSTAINED_HIGH', deviceId: null, source: 'system', message: 'cpu', messageKey: 'faults.CPU_SUSTAINED_HIGH', params: { load: 99, threshold: 90 }, evidence: {} };
    const system: ReadonlySet<ProbeSource> = new Set(['system']);
    expect(tracker.observe([cpu], system, new Date(0))).toEqual([]);
    expect(tracker.observe([cpu], system, new Date(1))).toEqual([]);
    const third = tracker.observe([cpu], system, new Date(2));
    expect(third).toHaveLength(1);
    expect(third[0]).toMatchObject({ state: 'raised', category: 'software', severity: 'general', firstSeenAt: new Date(0) });
  });

  it('tracks the same code on two devices separately', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 1, clearAfterCycles: 1 });
    const other = { ...cable, deviceId: 'expected:usb:microphone' };
    expect(tracker.observe([cable, other], usbReadable, new Date()).map((t) => t.condition.deviceId)).toEqual([cable.deviceId, other.deviceId]);
    expect(tracker.observe([cable], usbReadable, new Date()).map((t) => `${t.state}:${t.condition.deviceId}`)).toEqual([`cleared:${other.deviceId}`]);
  });

  it('tells which conditions the next observation would raise, without counting them', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 2, clearAfterCycles: 3 });
    expect(tracker.wouldRaise([cable])).toEqual([]);
    tracker.observe([cable], usbReadable, new Date(0));
    expect(tracker.wouldRaise([cable, cable])).toEqual([cable]);
    expect(tracker.wouldRaise([cable])).toEqual([cable]);
    expect(tracker.observe([cable], usbReadable, new Date(1)).map((t) => t.state)).toEqual(['raised']);
    // Raised already: nothing left to raise.
    expect(tracker.wouldRaise([cable])).toEqual([]);
  });

  it('raises at once a fault that a remediation held back once and that came back', () => {
    const tracker = new FaultTracker({ raiseAfterCycles: 2, clearAfterCycles: 3 });
    tracker.observe([cable], usbReadable, new Date(0));
    // Fixed before it was raised: the monitor leaves it out of the cycle, which counts as clean.
    expect(tracker.wouldRaise([cable])).toEqual([cable]);
    expect(tracker.observe([], usbReadable, new Date(1))).toEqual([]);
    expect(tracker.observe([cable], usbReadable, new Date(2)).map((t) => t.state)).toEqual(['raised']);
  });
});
