import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fault, health } from '../test/transport/agent-messages.js';
import { parseAgentConfig } from './config.js';
import { daemonIsRunning, daemonStateFile, DaemonStateSink, readDaemonState } from './daemon-state.js';

const config = parseAgentConfig({ healthIntervalSeconds: 30, probeIntervalSeconds: 60, probeTimeoutSeconds: 10 });

function sink(now: () => Date = () => new Date('2026-11-23T08:00:00Z')) {
  const file = daemonStateFile(mkdtempSync(join(tmpdir(), 'avcare-daemon-state-')));
  return { file, sink: new DaemonStateSink({ file, config, publishing: true, now, pid: 4242 }) };
}

describe('DaemonStateSink', () => {
  it('announces the daemon at start, before any event, as running and publishing', () => {
    const { file, sink: state } = sink();
    state.started();
    expect(readDaemonState(file)).toMatchObject({ pid: 4242, publishing: true, recentHealth: [], openFaults: [], updatedAt: '2026-11-23T08:00:00.000Z' });
  });

  it('keeps a summary of the last ten health samples, oldest first', () => {
    const { file, sink: state } = sink();
    for (let load = 1; load <= 12; load++) state.health(health(load));
    const kept = readDaemonState(file)?.recentHealth ?? [];
    expect(kept.map((summary) => summary.cpuLoadPercent)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(kept[0]).toMatchObject({ memoryAvailableBytes: 4e9, memoryTotalBytes: 8e9, cpuTemperatureC: null, fullestDiskUsePercent: 40 });
  });

  it('holds the faults raised and not yet cleared', () => {
    const { file, sink: state } = sink();
    const camera = { ...fault('raised'), deviceId: 'usb:046d:0843:1-1.4', code: 'CAMERA_NO_VIDEO_NODE' as const, message: 'camera has no video node' };
    state.fault(fault('raised'));
    state.fault(camera);
    state.fault(fault('cleared'));
    expect(readDaemonState(file)?.openFaults).toEqual([{ code: 'CAMERA_NO_VIDEO_NODE', deviceId: 'usb:046d:0843:1-1.4', message: 'camera has no video node', firstSeenAt: camera.firstSeenAt }]);
  });

  it('marks the file as history when the daemon stops', () => {
    const { file, sink: state } = sink();
    state.started();
    state.stopped();
    const written = readDaemonState(file);
    expect(written?.stoppedAt).toBeDefined();
    expect(daemonIsRunning(written, new Date('2026-11-23T08:00:01Z'), () => true)).toBe(false);
  });
});

describe('daemonIsRunning', () => {
  it('is true only for a current file whose process is alive', () => {
    let now = new Date('2026-11-23T08:00:00Z');
    const { file, sink: state } = sink(() => now);
    state.started();
    const written = readDaemonState(file);
    expect(daemonIsRunning(written, now, () => true)).toBe(true);
    expect(daemonIsRunning(written, now, () => false)).toBe(false);
    // Two missed health samples and probe timeouts later, a file left by a killed daemon is history.
    now = new Date('2026-11-23T08:01:21Z');
    expect(daemonIsRunning(written, now, () => true)).toBe(false);
    expect(daemonIsRunning(undefined, now, () => true)).toBe(false);
  });

  it('treats a missing, unreadable or invalid file as no daemon', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-daemon-state-'));
    expect(readDaemonState(daemonStateFile(dir))).toBeUndefined();
    writeFileSync(daemonStateFile(dir), '{"pid":');
    expect(readDaemonState(daemonStateFile(dir))).toBeUndefined();
    writeFileSync(daemonStateFile(dir), JSON.stringify({ pid: 'x' }));
    expect(readDaemonState(daemonStateFile(dir))).toBeUndefined();
  });

  it('sees this very process as alive and a finished one as gone', () => {
    expect(daemonIsRunning(readDaemonStateFor(process.pid), new Date(), undefined)).toBe(true);
    expect(daemonIsRunning(readDaemonStateFor(2 ** 22 + 1), new Date(), undefined)).toBe(false);
  });
});

function readDaemonStateFor(pid: number) {
  const now = new Date();
  const { file } = sink(() => now);
  new DaemonStateSink({ file, config, publishing: false, now: () => now, pid }).started();
  return readDaemonState(file);
}
