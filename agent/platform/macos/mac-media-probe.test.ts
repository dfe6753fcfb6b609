import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../protocol/log.js';
import { parseAgentConfig } from '../../config.js';
import { runProbeCycle } from '../../cycle.js';
import { FaultMonitor } from '../../fault-monitor.js';
import type { Probe } from '../../probes/probe.js';
import type { CommandOutput, RunCommand } from '../../probes/run-command.js';
import { usbDeviceFromInfo } from '../../probes/usb-classify.js';
import { usbDevice } from '../../../test/helpers/device-factory.js';
import type { UsbInfo } from '../../../protocol/index.js';
import { createMacMediaProbe } from './mac-media-probe.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/macos');
const config = parseAgentConfig({});

/** system_profiler as a Mac answers it; before macOS 26 it may refuse SPUSBHostDataType. */
function mac(answers: { withHostReport?: CommandOutput; withoutHostReport?: CommandOutput }): { run: RunCommand; calls: string[][] } {
  const calls: string[][] = [];
  const run: RunCommand = (file, args) => {
    calls.push([file, ...args]);
    const answer = args.includes('SPUSBHostDataType') ? answers.withHostReport : answers.withoutHostReport;
    return Promise.resolve(answer ?? { status: 'failed', reason: 'unexpected call' });
  };
  return { run, calls };
}

/** libusb on the Mac: the C920 with its video and audio interfaces, bus 1, behind the hub's port 1. */
const libusbOnTheMac: Probe = {
  id: 'usb',
  run: () =>
    Promise.resolve({
      state: 'ok',
      devices: [usbDeviceFromInfo({ ...(usbDevice().usb as UsbInfo), vendorId: 0x046d, productId: 0x082d, product: 'HD Pro Webcam C920', serialNumber: '8D3F1E2F', busNumber: 1, deviceAddress: 3, portPath: [1, 1] })],
    }),
};

describe('the media source on macOS', () => {
  it("reads system_profiler's JSON: the USB camera found by libusb gets the camera and audio device macOS made of it, the built-in ones are listed", async () => {
    const sp = mac({ withHostReport: { status: 'ok', stdout: readFileSync(join(FIXTURES, 'system-profiler-macbook-air-room105.json'), 'utf8') } });
    const cycle = await runProbeCycle([libusbOnTheMac, createMacMediaProbe({ runCommand: sp.run })], { config, log: silentLogger });
    expect(cycle.sources.map((source) => [source.source, source.state])).toEqual([
      ['usb', 'ok'],
      ['media', 'ok'],
    ]);
    const camera = cycle.devices[0];
    expect(camera?.media?.videoNodes.map((node) => node.name)).toEqual(['HD Pro Webcam C920']);
    expect(camera?.media?.audioCards.map((card) => [card.name, card.capture])).toEqual([['HD Pro Webcam C920', true]]);
    expect(cycle.devices.slice(1).map((device) => [device.kind, device.name])).toEqual([
      ['camera', 'FaceTime HD Camera'],
      ['microphone', 'MacBook Air Microphone'],
      ['speaker', 'MacBook Air Speakers'],
    ]);
    expect(new FaultMonitor(config, null).detect(cycle)).toEqual([]);
    expect(sp.calls).toEqual([['/usr/sbin/system_profiler', '-json', 'SPUSBDataType', 'SPUSBHostDataType', 'SPCameraDataType', 'SPAudioDataType']]);
  });

  it('asks an older macOS again without the report it does not know; a camera macOS made nothing of is CAMERA_NO_VIDEO_NODE', async () => {
    const report = JSON.parse(readFileSync(join(FIXTURES, 'system-profiler-macbook-air-room105.json'), 'utf8')) as Record<string, unknown>;
    report.SPCameraDataType = [];
    const sp = mac({ withHostReport: { status: 'failed', reason: 'exit 1' }, withoutHostReport: { status: 'ok', stdout: JSON.stringify(report) } });
    const cycle = await runProbeCycle([libusbOnTheMac, createMacMediaProbe({ runCommand: sp.run })], { config, log: silentLogger });
    expect(sp.calls.map((call) => call.includes('SPUSBHostDataType'))).toEqual([true, false]);
    expect(new FaultMonitor(config, null).detect(cycle).map((fault) => fault.code)).toEqual(['CAMERA_NO_VIDEO_NODE']);
  });

  it("reads each person's camera and microphone permissions where macOS lets it (Full Disk Access), and leaves them unknown where it refuses", async () => {
    const databases = ['/Users/teacher/Library/Application Support/com.apple.TCC/TCC.db', '/Users/guest/Library/Application Support/com.apple.TCC/TCC.db'];
    const report = readFileSync(join(FIXTURES, 'system-profiler-macbook-air-room105.json'), 'utf8');
    const calls: string[][] = [];
    const run: RunCommand = (file, args) => {
      calls.push([file, ...args]);
      if (file !== '/usr/bin/sqlite3') return Promise.resolve({ status: 'ok', stdout: report });
      // The teacher's database answers; the guest's is refused, as without Full Disk Access.
      return Promise.resolve(args[1] === databases[0] ? { status: 'ok', stdout: 'kTCCServiceCamera|us.zoom.xos|0\nkTCCServiceMicrophone|us.zoom.xos|2\n' } : { status: 'failed', reason: 'Error: unable to open database: authorization denied' });
    };
    const cycle = await runProbeCycle([libusbOnTheMac, createMacMediaProbe({ runCommand: run, listDatabases: () => Promise.resolve(databases) })], { config, log: silentLogger });
    expect(calls.filter(([file]) => file === '/usr/bin/sqlite3').map((call) => call.slice(1, 3))).toEqual(databases.map((database) => ['-readonly', database]));
    expect(cycle.privacy?.camera.deniedApps).toEqual(['us.zoom.xos']);
    expect(new FaultMonitor(config, null).detect(cycle).map((fault) => fault.code)).toEqual(['CAMERA_BLOCKED_BY_PRIVACY']);
    const refused: RunCommand = (file) => Promise.resolve(file === '/usr/bin/sqlite3' ? { status: 'failed', reason: 'authorization denied' } : { status: 'ok', stdout: report });
    const unknown = await runProbeCycle([createMacMediaProbe({ runCommand: refused, listDatabases: () => Promise.resolve(databases) })], { config, log: silentLogger });
    expect(unknown.privacy).toBeUndefined();
  });

  it("says why without system_profiler, and reports its garbage as the source's error, never a crashed cycle", async () => {
    const missing = await runProbeCycle([createMacMediaProbe({ runCommand: mac({ withHostReport: { status: 'not-installed' } }).run })], { config, log: silentLogger });
    expect(missing.sources[0]).toMatchObject({ state: 'unavailable', reasonKey: 'sourceReason.noSystemProfiler' });
    const garbled = await runProbeCycle([createMacMediaProbe({ runCommand: mac({ withHostReport: { status: 'ok', stdout: '2026-12-07 system_profiler[812] crashed' } }).run })], { config, log: silentLogger });
    expect(garbled.sources[0]).toMatchObject({ state: 'error', errorCode: 'PROBE_FAILED' });
    expect(garbled.sources[0]?.reason).toMatch(/system_profiler printed something that is not JSON/);
    const empty = await runProbeCycle([createMacMediaProbe({ runCommand: mac({ withHostReport: { status: 'ok', stdout: '{}' } }).run })], { config, log: silentLogger });
    expect(empty.sources[0]?.reason).toMatch(/without its USB, camera or audio report/);
  });
});
