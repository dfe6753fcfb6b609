import { describe, expect, it } from 'vitest';
import { faultMessageSchema, type MediaInfo } from '../protocol/index.js';
import { okSources, usbDevice } from '../test/helpers/device-factory.js';
import { parseAgentConfig } from './config.js';
import { runProbeCycle } from './cycle.js';
import { faultMessage } from './events.js';
import { FaultMonitor } from './fault-monitor.js';
import { faultKey, type CycleSnapshot, type FaultCondition } from './faults/fault-condition.js';
import { silentLogger } from '../protocol/log.js';
import type { Probe, ProbeFindings } from './probes/probe.js';
import type { RemediationAction } from './remediation/remediation-plan.js';
import { Remediator, type FaultRemediator, type RemediationReport } from './remediation/remediator.js';
import { MockUsbResetter } from './remediation/usb-reset.js';

const config = parseAgentConfig({ expectedDevices: [{ kind: 'camera', label: 'front camera' }], hysteresis: { raiseAfterCycles: 2, clearAfterCycles: 2 } });
const MISSING = 'DEVICE_MISSING|expected:usb:camera';

function emptyRoom(minute: number): CycleSnapshot {
  return { at: new Date(minute * 60_000), devices: [], sources: okSources('usb') };
}

/** A remediator that answers as told and remembers what it was asked. */
function fakeRemediator(answer: (due: readonly FaultCondition[]) => RemediationReport | Error): FaultRemediator & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    asked,
    remediate(due) {
      asked.push(due.map(faultKey));
      const report = answer(due);
      return report instanceof Error ? Promise.reject(report) : Promise.resolve(report);
    },
  };
}

const reprobe: RemediationAction = { action: 're-probe', at: '2025-03-03T08:00:00.000Z', result: 'probed the device again; still failing afterwards: front camera is missing' };

describe('FaultMonitor with remediation', () => {
  it('asks for remediation only when a fault is about to be raised, and not again once it is', async () => {
    const monitor = new FaultMonitor(config, null);
    const remediator = fakeRemediator(() => ({ fixed: new Set(), actions: new Map() }));
    expect(await monitor.observe(emptyRoom(0), { remediator })).toEqual([]);
    expect(remediator.asked).toEqual([]);
    expect((await monitor.observe(emptyRoom(1), { remediator })).map((t) => t.state)).toEqual(['raised']);
    expect(remediator.asked).toEqual([[MISSING]]);
    await monitor.observe(emptyRoom(2), { remediator });
    expect(remediator.asked).toHaveLength(1);
  });

  it('does not raise a fault the remediation fixed', async () => {
    const monitor = new FaultMonitor(config, null);
    const remediator = fakeRemediator((due) => ({ fixed: new Set(due.map(faultKey)), actions: new Map() }));
    await monitor.observe(emptyRoom(0), { remediator });
    expect(await monitor.observe(emptyRoom(1), { remediator })).toEqual([]);
    expect(monitor.active()).toEqual([]);
  });

  it('raises a fault the remediation did not fix, with evidence.actions the protocol accepts', async () => {
    const monitor = new FaultMonitor(config, null);
    const remediator = fakeRemediator((due) => ({ fixed: new Set(), actions: new Map(due.map((c) => [faultKey(c), [reprobe]])) }));
    await monitor.observe(emptyRoom(0), { remediator });
    const [raised] = await monitor.observe(emptyRoom(1), { remediator });
    expect(raised?.condition.evidence).toMatchObject({ expected: { kind: 'camera', label: 'front camera' }, actions: [reprobe] });
    const message = faultMessageSchema.parse(faultMessage(config, raised ?? expect.unreachable()));
    expect(message.evidence.actions).toEqual([reprobe]);
    expect(monitor.active()[0]?.condition.evidence.actions).toEqual([reprobe]);
  });

  it('adds no actions field when nothing was tried', async () => {
    const monitor = new FaultMonitor(config, null);
    const remediator = fakeRemediator(() => ({ fixed: new Set(), actions: new Map() }));
    await monitor.observe(emptyRoom(0), { remediator });
    const [raised] = await monitor.observe(emptyRoom(1), { remediator });
    expect(raised?.condition.evidence).not.toHaveProperty('actions');
  });

  it('still raises the fault when the remediation itself fails', async () => {
    const monitor = new FaultMonitor(config, null);
    const remediator = fakeRemediator(() => new Error('bug in a fix'));
    await monitor.observe(emptyRoom(0), { remediator });
    expect((await monitor.observe(emptyRoom(1), { remediator })).map((t) => `${t.state}:${t.condition.code}`)).toEqual(['raised:DEVICE_MISSING']);
  });
});

describe('FaultMonitor with the Remediator: a webcam whose driver did not bind', () => {
  const webcam = usbDevice({ name: 'Webcam C930e' });
  const working: MediaInfo = {
    videoNodes: [{ path: '/dev/video0', name: 'C930e', capabilities: ['video-capture'], canCapture: true, usbPort: '1-1.4' }],
    audioCards: [{ index: 1, id: 'C930e', name: 'C930e', capture: true, playback: false, usbPort: '1-1.4' }],
  };
  const broken: MediaInfo = { videoNodes: [], audioCards: [] };

  function room() {
    const usb: Probe = { id: 'usb', run: () => Promise.resolve({ state: 'ok', devices: [webcam] }) };
    const media: Probe & { findings: ProbeFindings } = { id: 'media', findings: { state: 'ok', devices: [], media: broken }, run: () => Promise.resolve(media.findings) };
    const resetter = new MockUsbResetter();
    let minute = 0;
    const now = () => new Date(Date.UTC(2025, 2, 3, 8, minute));
    const monitor = new FaultMonitor(config, null);
    const remediator = new Remediator({ config, log: silentLogger, probes: [usb, media], usbResetter: resetter, usbSettleMs: 0, now });
    const cycle = async () => {
      const snapshot = await runProbeCycle([usb, media], { config, log: silentLogger }, { now });
      const transitions = await monitor.observe(snapshot, { remediator });
      minute += 1;
      return transitions.map((t) => `${t.state}:${t.condition.code}`);
    };
    return { media, resetter, cycle, monitor };
  }

  it('resets it, and raises nothing when the reset brings its video node back', async () => {
    const { media, resetter, cycle, monitor } = room();
    resetter.onReset = () => (media.findings = { state: 'ok', devices: [], media: working });
    expect(await cycle()).toEqual([]);
    expect(await cycle()).toEqual([]);
    expect(resetter.calls).toHaveLength(1);
    expect(await cycle()).toEqual([]);
    expect(monitor.active()).toEqual([]);
  });

  it('raises both faults with the reset it tried when the reset does not help, and does not reset again', async () => {
    const { resetter, cycle, monitor } = room();
    expect(await cycle()).toEqual([]);
    expect(await cycle()).toEqual(['raised:CAMERA_NO_VIDEO_NODE', 'raised:MICROPHONE_NO_CAPTURE']);
    const actions = monitor.active().map((fault) => fault.condition.evidence.actions as RemediationAction[]);
    expect(actions.map((list) => list.map((a) => `${a.action}@${a.at}`))).toEqual([['usb-reset@2025-03-03T08:01:00.000Z'], ['usb-reset@2025-03-03T08:01:00.000Z']]);
    expect(actions[0]?.[0]?.result).toMatch(/^reset the device through libusb; still failing afterwards: Webcam C930e is on USB but the system offers no usable video device/);
    for (let i = 0; i < 5; i += 1) expect(await cycle()).toEqual([]);
    expect(resetter.calls).toHaveLength(1);
  });

  it('raises at once, with the earlier reset, a fault that comes back within the cooldown', async () => {
    const { media, resetter, cycle, monitor } = room();
    resetter.onReset = () => (media.findings = { state: 'ok', devices: [], media: working });
    await cycle();
    expect(await cycle()).toEqual([]);
    // The driver drops the camera again a minute later: the reset is not repeated, the fault is raised.
    media.findings = { state: 'ok', devices: [], media: broken };
    expect(await cycle()).toEqual(['raised:CAMERA_NO_VIDEO_NODE', 'raised:MICROPHONE_NO_CAPTURE']);
    expect(resetter.calls).toHaveLength(1);
    // The ticket shows that a reset helped only for a minute.
    expect(monitor.active()[0]?.condition.evidence.actions).toEqual([
      { action: 'usb-reset', at: '2025-03-03T08:01:00.000Z', result: 'reset the device through libusb; the fault was gone afterwards' },
    ]);
  });
});
