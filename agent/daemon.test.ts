import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Device, FaultMessage, HealthMessage, InventoryMessage } from '../protocol/index.js';
import { faultMessageSchema, healthMessageSchema, inventoryMessageSchema } from '../protocol/index.js';
import { systemSnapshot, usbDevice } from '../test/helpers/device-factory.js';
import { parseAgentConfig } from './config.js';
import type { AgentSink, InventoryChange } from './agent-sink.js';
import { AgentDaemon } from './daemon.js';
import { FaultMonitor } from './fault-monitor.js';
import { silentLogger } from '../protocol/log.js';
import type { Probe } from './probes/probe.js';

/** A USB source whose devices the test changes between cycles, as a person plugging cables would. */
function scriptedUsb(): Probe & { devices: Device[]; runs: number } {
  const probe = {
    id: 'usb' as const,
    devices: [] as Device[],
    runs: 0,
    run: () => {
      probe.runs += 1;
      return Promise.resolve({ state: 'ok' as const, devices: probe.devices });
    },
  };
  return probe;
}

function recordingSink() {
  const faults: FaultMessage[] = [];
  const healths: HealthMessage[] = [];
  const inventories: Array<{ message: InventoryMessage; change: InventoryChange }> = [];
  const sink: AgentSink = { inventory: (message, change) => inventories.push({ message, change }), health: (m) => healths.push(m), fault: (m) => faults.push(m) };
  return { sink, faults, healths, inventories };
}

/** A system probe that reports a different CPU load each time, so samples can be told apart. */
function countingSystemProbe(): Probe & { runs: number } {
  const probe = {
    id: 'system' as const,
    runs: 0,
    run: () => {
      probe.runs += 1;
      return Promise.resolve({ state: 'ok' as const, devices: [], system: systemSnapshot({ cpu: { cores: 4, loadPercent: probe.runs } }) });
    },
  };
  return probe;
}

describe('AgentDaemon', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const config = parseAgentConfig({ probeIntervalSeconds: 60, expectedDevices: [{ kind: 'camera', label: 'front camera' }], hysteresis: { raiseAfterCycles: 2, clearAfterCycles: 2 } });

  it('raises a fault for an unplugged camera after hysteresis and clears it when it returns', async () => {
    const usb = scriptedUsb();
    const { sink, faults, inventories } = recordingSink();
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [usb], monitor: new FaultMonitor(config, null), sink, maxCycles: 6 });
    daemon.start();
    usb.devices = [usbDevice()];
    await vi.advanceTimersByTimeAsync(0);
    usb.devices = [];
    await vi.advanceTimersByTimeAsync(60_000);
    expect(faults).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(faults.map((f) => `${f.state}:${f.code}`)).toEqual(['raised:DEVICE_MISSING']);
    usb.devices = [usbDevice()];
    await vi.advanceTimersByTimeAsync(120_000);
    expect(faults.map((f) => `${f.state}:${f.code}`)).toEqual(['raised:DEVICE_MISSING', 'cleared:DEVICE_MISSING']);
    for (const fault of faults) expect(faultMessageSchema.parse(fault)).toBeTruthy();
    expect(inventories[1]?.change.detached.map((d) => d.kind)).toEqual(['camera']);
    expect(inventories[3]?.change.attached.map((d) => d.kind)).toEqual(['camera']);
    for (const { message } of inventories) inventoryMessageSchema.parse(message);
    await daemon.stop();
  });

  it('probes again before it raises a missing device, and says so in the fault, unless remediation is off', async () => {
    for (const enabled of [true, false]) {
      const usb = scriptedUsb();
      const { sink, faults } = recordingSink();
      const withRemediation = { ...config, remediation: { ...config.remediation, enabled } };
      const daemon = new AgentDaemon({ config: withRemediation, log: silentLogger, probes: [usb], monitor: new FaultMonitor(withRemediation, null), sink, maxCycles: 2 });
      daemon.start();
      await vi.advanceTimersByTimeAsync(60_000);
      await daemon.done;
      expect(faults.map((f) => `${f.state}:${f.code}`)).toEqual(['raised:DEVICE_MISSING']);
      if (enabled) {
        expect(faults[0]?.evidence.actions).toEqual([{ action: 're-probe', at: expect.any(String) as unknown, result: expect.stringMatching(/^probed the device again; still failing afterwards: front camera is missing/) as unknown }]);
        // The cycle's own run, the first sighting's cycle, and the re-probe before raising.
        expect(usb.runs).toBe(3);
      } else {
        expect(faults[0]?.evidence).not.toHaveProperty('actions');
        expect(usb.runs).toBe(2);
      }
    }
  });

  it('keeps cycling when a probe throws or hangs, reporting it as a source error', async () => {
    const broken: Probe = { id: 'serial', run: () => Promise.reject(new Error('port exploded')) };
    const hanging: Probe = { id: 'pjlink', run: () => new Promise(() => undefined) };
    const usb = scriptedUsb();
    usb.devices = [usbDevice()];
    const { sink, inventories } = recordingSink();
    const daemon = new AgentDaemon({ config: { ...config, probeTimeoutSeconds: 2 }, log: silentLogger, probes: [broken, hanging, usb], monitor: new FaultMonitor(config, null), sink, maxCycles: 2 });
    daemon.start();
    await vi.advanceTimersByTimeAsync(70_000);
    await daemon.done;
    expect(inventories).toHaveLength(2);
    const sources = inventories[0]?.message.sources ?? [];
    expect(sources.find((s) => s.source === 'serial')).toMatchObject({ state: 'error', errorCode: 'PROBE_FAILED', reason: 'port exploded' });
    expect(sources.find((s) => s.source === 'pjlink')).toMatchObject({ state: 'error', errorCode: 'PROBE_TIMEOUT' });
    expect(inventories[0]?.message.devices).toHaveLength(1);
  });

  it('runs an early cycle after a hotplug event instead of waiting for the interval', async () => {
    const usb = scriptedUsb();
    const { sink, inventories } = recordingSink();
    let notify: () => void = () => undefined;
    const stop = vi.fn();
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [usb], monitor: new FaultMonitor(config, null), sink, watchHotplug: (onChange) => ((notify = onChange), { stop }) });
    daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(inventories).toHaveLength(1);
    usb.devices = [usbDevice()];
    notify();
    await vi.advanceTimersByTimeAsync(2_500);
    expect(inventories).toHaveLength(2);
    expect(inventories[1]?.change.attached).toHaveLength(1);
    await daemon.stop();
    expect(stop).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(inventories).toHaveLength(2);
  });

  it('raises DEVICE_UNSTABLE_CONNECTION for a camera that drops off USB again and again, with the count and times, and clears it once it holds', async () => {
    const usb = scriptedUsb();
    const camera = usbDevice();
    usb.devices = [camera];
    const { sink, faults } = recordingSink();
    let notify: (change?: { type: 'attach' | 'detach'; info?: { busNumber?: number; portPath?: number[] } }) => void = () => undefined;
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [usb], monitor: new FaultMonitor(config, null), sink, watchHotplug: (onChange) => ((notify = onChange), { stop: () => undefined }) });
    daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    for (let drop = 0; drop < 3; drop += 1) {
      notify({ type: 'detach', info: { busNumber: 1, portPath: [1, 4] } });
      await vi.advanceTimersByTimeAsync(5_000);
      notify({ type: 'attach', info: { busNumber: 1, portPath: [1, 4] } });
      await vi.advanceTimersByTimeAsync(5_000);
    }
    // Hysteresis: seen in two cycles before it is raised, like every other fault.
    await vi.advanceTimersByTimeAsync(config.probeIntervalSeconds * 1000);
    const raised = faults.filter((fault) => fault.code === 'DEVICE_UNSTABLE_CONNECTION');
    expect(raised.map((fault) => [fault.state, fault.deviceId])).toEqual([['raised', camera.id]]);
    expect(raised[0]?.message).toBe('Logitech Webcam C930e disconnected 3 times in 10 minutes (USB port 1-1.4)');
    expect(raised[0]?.evidence).toMatchObject({ port: '1-1.4', disconnects: 3, presentNow: true });
    expect((raised[0]?.evidence as { disconnectedAt: string[] }).disconnectedAt).toHaveLength(3);
    // Ten quiet minutes later the drops are out of the window; three clean cycles clear it.
    await vi.advanceTimersByTimeAsync(10 * 60_000 + 4 * config.probeIntervalSeconds * 1000);
    expect(faults.filter((fault) => fault.code === 'DEVICE_UNSTABLE_CONNECTION').map((fault) => fault.state)).toEqual(['raised', 'cleared']);
    await daemon.stop();
  });

  it('re-probes on request (a remote re-probe) without overlapping a cycle, and returns what it found', async () => {
    const usb = scriptedUsb();
    const { sink, inventories } = recordingSink();
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [usb], monitor: new FaultMonitor(config, null), sink });
    daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(daemon.devices).toEqual([]);
    usb.devices = [usbDevice()];
    const found = daemon.probeNow();
    await vi.advanceTimersByTimeAsync(0);
    const snapshot = await found;
    expect(snapshot.devices.map((device) => device.id)).toEqual([usbDevice().id]);
    // With each source's state, so an engineer can tell "USB unavailable" from "nothing plugged in".
    expect(snapshot.sources.map((source) => source.source)).toEqual(['usb']);
    expect(daemon.lastInventory).toEqual(snapshot);
    expect(usb.runs).toBe(2);
    expect(inventories).toHaveLength(2);
    await daemon.stop();
  });

  it('sends health samples on their own interval when given a health probe, not once per cycle', async () => {
    const usb = scriptedUsb();
    const cycleSystem = countingSystemProbe();
    const healthProbe = countingSystemProbe();
    const { sink, healths, inventories } = recordingSink();
    const daemon = new AgentDaemon({ config: { ...config, healthIntervalSeconds: 30 }, log: silentLogger, probes: [usb, cycleSystem], monitor: new FaultMonitor(config, null), sink, healthProbe });
    daemon.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(120_000);
    // Cycles at 0, 60 and 120 s; samples at 0, 30, 60, 90 and 120 s.
    expect(inventories).toHaveLength(3);
    expect(healths.map((h) => h.system.cpu.loadPercent)).toEqual([1, 2, 3, 4, 5]);
    for (const sample of healths) healthMessageSchema.parse(sample);
    await daemon.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(healths).toHaveLength(5);
  });

  it('reports each cycle\'s system snapshot as the health sample when there is no health probe', async () => {
    const { sink, healths } = recordingSink();
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [countingSystemProbe()], monitor: new FaultMonitor(config, null), sink, maxCycles: 2 });
    daemon.start();
    await vi.advanceTimersByTimeAsync(60_000);
    await daemon.done;
    expect(healths).toHaveLength(2);
  });

  it('waits for a health sample under way before it reports itself done', async () => {
    let release: () => void = () => undefined;
    const slowHealth: Probe = {
      id: 'system',
      run: () => new Promise((resolve) => (release = () => resolve({ state: 'ok', devices: [], system: systemSnapshot() }))),
    };
    const { sink, healths } = recordingSink();
    const slowUsb: Probe = { id: 'usb', run: () => new Promise((resolve) => setTimeout(() => resolve({ state: 'ok', devices: [] }), 500)) };
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [slowUsb], monitor: new FaultMonitor(config, null), sink, healthProbe: slowHealth, maxCycles: 1 });
    daemon.start();
    let done = false;
    void daemon.done.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(done).toBe(false);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
    expect(healths).toHaveLength(1);
  });
});
