import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Device } from '../../protocol/index.js';
import { silentLogger } from '../../protocol/log.js';
import { QUEST3_CAPTURE, recordedHeadset, SimulatedHeadset, type SimulatedHeadsetOptions } from '../../test/helpers/adb-headset-simulator.js';
import { SimulatedAdbServer } from '../../test/helpers/adb-server-simulator.js';
import { parseAgentConfig, type AgentConfigInput } from '../config.js';
import { FaultMonitor } from '../fault-monitor.js';
import { createAdbProbe, hasAdbInterface } from '../probes/adb-probe.js';
import { runProbe } from '../probes/probe.js';
import { ADB_KEY_FILE } from './adb-key.js';

const APP = 'com.school.chemlab';
const recordedQuest = (serial?: string): ((command: string) => string | undefined) => recordedHeadset(QUEST3_CAPTURE, '2026-12-07 08:30:00', serial);

const running: SimulatedHeadset[] = [];
async function headset(options: Partial<SimulatedHeadsetOptions> = {}): Promise<{ sim: SimulatedHeadset; port: number }> {
  const sim = new SimulatedHeadset({ answer: recordedQuest(), onNewKey: 'allow', ...options });
  running.push(sim);
  return { sim, port: await sim.start() };
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.stop()));
});

function configFor(stateDir: string, headsets: { port: number; name?: string }[], extra: AgentConfigInput = {}) {
  return parseAgentConfig({ stateDir, vrHeadsets: headsets.map(({ port, name }) => ({ host: '127.0.0.1', port, ...(name ? { name } : {}) })), vr: { apps: [APP], authorizeWaitSeconds: 1, usb: false }, ...extra });
}

async function probe(config: ReturnType<typeof parseAgentConfig>) {
  return runProbe(createAdbProbe({ sysRoot: mkdtempSync(join(tmpdir(), 'avcare-nosys-')) }), { config, log: silentLogger }, 20_000);
}

function faultsOf(config: ReturnType<typeof parseAgentConfig>, devices: Device[]) {
  return new FaultMonitor(config, null).detect({ at: new Date('2026-12-07T08:30:00Z'), devices, sources: [{ source: 'adb', state: 'ok', durationMs: 1 }] });
}

describe('VR headsets over ADB (a simulated adbd answering from a recorded Quest 3)', () => {
  it('reads a headset the teacher allowed, keeps the key it allowed in the state directory, and is let in by signature next time', async () => {
    const { sim, port } = await headset();
    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-adb-'));
    const config = configFor(stateDir, [{ port, name: 'cart A #3' }]);
    const first = await probe(config);
    expect(first.status.state).toBe('ok');
    const [device] = first.findings.devices;
    expect(device?.name).toBe('cart A #3 (Oculus Quest 3)');
    expect(device?.connection).toEqual({ type: 'network', host: '127.0.0.1', port, protocol: 'adb' });
    expect(device?.vr?.battery).toMatchObject({ level: 22, charging: 'discharging' });
    expect(device?.vr?.controllers.map((c) => [c.side, c.connected])).toEqual([
      ['right', true],
      ['left', false],
    ]);
    expect(device?.vr?.apps[0]).toMatchObject({ packageName: APP, installed: true, versionName: '1.4.2', running: false });
    expect(device?.vr?.apps[0]?.crashes[0]?.detail).toMatch(/IllegalStateException: Scene 'Titration_Lab'/);
    // Today's crashes only, by the headset's own date.
    expect(sim.commands).toContain(`dumpsys dropbox --print 2026-12-07 data_app_crash`);
    expect(faultsOf(config, first.findings.devices).map((fault) => fault.code).sort()).toEqual(['VR_APP_CRASHED', 'VR_BATTERY_LOW', 'VR_CONTROLLER_DISCONNECTED']);

    await vi.waitFor(() => expect(sim.openConnections).toBe(0));
    const keyFile = join(stateDir, ADB_KEY_FILE);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile);
    expect(sim.accepted).toHaveLength(1);
    const second = await probe(config);
    expect(second.findings.devices[0]?.vr?.authorized).toBe(true);
    expect(readFileSync(keyFile).equals(key)).toBe(true);
    expect(sim.accepted).toHaveLength(1);
  });

  it('a headset whose "Allow USB debugging" nobody tapped is VR_ADB_NOT_AUTHORIZED, with this PC named in its dialog', async () => {
    const { sim, port } = await headset({ onNewKey: 'ask' });
    const config = configFor(mkdtempSync(join(tmpdir(), 'avcare-adb-')), [{ port, name: 'cart A #7' }]);
    const result = await probe(config);
    expect(result.status.state).toBe('ok');
    const device = result.findings.devices[0];
    expect(device?.vr?.authorized).toBe(false);
    expect(sim.asked[0]).toMatch(/ avcare@/);
    const faults = faultsOf(config, result.findings.devices);
    expect(faults.map((fault) => [fault.code, fault.message])).toEqual([['VR_ADB_NOT_AUTHORIZED', 'cart A #7 has not allowed this PC to read it (USB debugging not accepted)']]);
  });

  it('a headset that drops off mid-probe keeps what it answered, says where it stopped, and the next headset still reports', async () => {
    const dropping = await headset({ dropAt: (command) => command.startsWith('dumpsys OVRRemoteService') });
    const steady = await headset({ answer: recordedQuest('2G0YC5ZF8K0042') });
    const config = configFor(mkdtempSync(join(tmpdir(), 'avcare-adb-')), [
      { port: dropping.port, name: 'cart A #1' },
      { port: steady.port, name: 'cart A #2' },
    ]);
    const result = await probe(config);
    expect(result.status.state).toBe('ok');
    const [gone, kept] = result.findings.devices;
    expect(gone?.status).toBe('degraded');
    expect(gone?.error?.code).toBe('ADB_COMMAND_FAILED');
    expect(gone?.error?.message).toMatch(/stopped at `dumpsys OVRRemoteService`/);
    expect(gone?.vr?.battery?.level).toBe(22);
    expect(gone?.vr?.unreadable).toEqual(['dumpsys OVRRemoteService', 'dumpsys bluetooth_manager', `dumpsys package ${APP}`, `pidof ${APP}`, 'dumpsys dropbox --print 2026-12-07 data_app_crash', 'dumpsys dropbox --print 2026-12-07 data_app_anr']);
    // Nothing is concluded from what was not read: no controller fault for the headset that left.
    expect(faultsOf(config, [gone as Device]).map((fault) => fault.code)).toEqual(['VR_BATTERY_LOW']);
    expect(kept?.status).toBe('ok');
    expect(kept?.vr?.controllers).toHaveLength(2);
  });

  it('a configured headset that does not answer is an unreachable device, never a failed probe', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await probe(configFor(mkdtempSync(join(tmpdir(), 'avcare-adb-')), [{ port, name: 'cart B #1' }]));
    expect(result.status.state).toBe('ok');
    expect(result.findings.devices[0]).toMatchObject({ name: 'cart B #1', status: 'unreachable', error: { code: 'ADB_UNREACHABLE' } });
    expect(result.findings.devices[0]?.error?.message).toMatch(/no answer from 127\.0\.0\.1:\d+/);
  });

  it('garbled answers make a device that says it could not be read; an enormous crash log is read to its newest entry only', async () => {
    const garbled = await headset({ answer: () => '\u0000\u00ff[[[ random ]]] 12:: ==\n'.repeat(50) });
    const oldCrash = `2026-12-07 07:00:00 data_app_crash (text, 10 bytes)\nProcess: ${APP}\njava.lang.OutOfMemoryError: old\n${'filler line of an old entry\n'.repeat(30)}`;
    const newest = `2026-12-07 08:25:00 data_app_crash (text, 10 bytes)\nProcess: ${APP}\njava.lang.NullPointerException: newest\n`;
    const recorded = recordedQuest();
    const flood = await headset({ answer: (command) => (command.includes('data_app_crash') ? `${oldCrash.repeat(3000)}${newest}` : recorded(command)) });
    const result = await probe(configFor(mkdtempSync(join(tmpdir(), 'avcare-adb-')), [{ port: garbled.port }, { port: flood.port }]));
    const [unreadable, flooded] = result.findings.devices;
    expect(unreadable).toMatchObject({ status: 'unknown', error: { code: 'ADB_COMMAND_FAILED' } });
    // About 3 MB of crash records: the newest is found, the oldest were never held.
    expect(flooded?.vr?.apps[0]?.crashes.map((crash) => crash.detail)).toContain('java.lang.NullPointerException: newest');
    expect(flooded?.vr?.apps[0]?.crashes.every((crash) => crash.at >= '2026-12-07 07:30:00')).toBe(true);
  });

  it('a controller that flaps between connected and not raises VR_CONTROLLER_UNSTABLE with the times, and its disconnected fault once, not a storm', async () => {
    const recorded = recordedQuest();
    let cycle = 0;
    const connected = 'Paired device: 36300ad79a66d60f, Type: Left, Model: RUBY, Battery: 71%, Status: Active, ExternalStatus: CONNECTED_ACTIVE';
    const dropped = 'Paired device: 36300ad79a66d60f, Type: Left, Model: RUBY, Battery: 71%, Status: Searching, ExternalStatus: DISCONNECTED';
    const { port } = await headset({ answer: (command) => (command.startsWith('dumpsys OVRRemoteService') ? `${cycle % 2 === 0 ? connected : dropped}\n` : recorded(command)) });
    const config = configFor(mkdtempSync(join(tmpdir(), 'avcare-adb-')), [{ port, name: 'cart A #4' }], { hysteresis: { raiseAfterCycles: 2, clearAfterCycles: 3 } });
    const monitor = new FaultMonitor(config, null);
    const raised: { code: string; evidence: Record<string, unknown> }[] = [];
    const cleared: string[] = [];
    for (; cycle < 7; cycle += 1) {
      const result = await probe(config);
      const at = new Date(Date.UTC(2026, 11, 7, 8, cycle));
      for (const transition of await monitor.observe({ at, devices: result.findings.devices, sources: [result.status] })) {
        if (transition.state === 'raised') raised.push({ code: transition.condition.code, evidence: transition.condition.evidence });
        else cleared.push(transition.condition.code);
      }
    }
    expect(raised.map((fault) => fault.code).filter((code) => code.startsWith('VR_CONTROLLER'))).toEqual(['VR_CONTROLLER_DISCONNECTED', 'VR_CONTROLLER_UNSTABLE']);
    expect(cleared).toEqual([]);
    const unstable = raised.find((fault) => fault.code === 'VR_CONTROLLER_UNSTABLE');
    expect(unstable?.evidence).toMatchObject({ controller: 'left controller (RUBY)', disconnects: 3, windowMinutes: 10 });
    expect(unstable?.evidence.disconnectedAt).toEqual(['2026-12-07T08:01:00.000Z', '2026-12-07T08:03:00.000Z', '2026-12-07T08:05:00.000Z']);
  });
});

describe('the ADB probe on a PC without headsets', () => {
  it('is unavailable, saying why, when no headset is configured and no USB device offers an ADB interface', async () => {
    const result = await runProbe(createAdbProbe({ sysRoot: mkdtempSync(join(tmpdir(), 'avcare-nosys-')) }), { config: parseAgentConfig({}), log: silentLogger }, 5000);
    expect(result.status).toMatchObject({ state: 'unavailable', reasonKey: 'sourceReason.noHeadsets' });
  });

  it("finds an ADB interface (class ff, subclass 42, protocol 01) among the USB interfaces in sysfs", async () => {
    const sysRoot = mkdtempSync(join(tmpdir(), 'avcare-sys-'));
    const write = (name: string, triple: string[]): void => {
      const dir = join(sysRoot, 'bus', 'usb', 'devices', name);
      mkdirSync(dir, { recursive: true });
      ['bInterfaceClass', 'bInterfaceSubClass', 'bInterfaceProtocol'].forEach((file, index) => writeFileSync(join(dir, file), `${triple[index]}\n`));
    };
    write('1-1:1.0', ['0e', '01', '00']);
    expect(await hasAdbInterface(sysRoot)).toBe(false);
    write('1-4:1.0', ['ff', '42', '01']);
    expect(await hasAdbInterface(sysRoot)).toBe(true);
  });
});

describe('USB headsets through the adb server a PC already runs', () => {
  it('lists the server\'s headsets, reads the authorized one over it and reports the one waiting for "Allow"', async () => {
    const server = new SimulatedAdbServer([
      { serial: '2G0YC5ZF8B0K4S', state: 'device', model: 'Quest 3', answer: recordedQuest() },
      { serial: 'PA7L10MGD1200456', state: 'unauthorized' },
    ]);
    const port = await server.start();
    try {
      const sysRoot = mkdtempSync(join(tmpdir(), 'avcare-sys-'));
      const adbInterface = join(sysRoot, 'bus', 'usb', 'devices', '1-1.3:1.0');
      mkdirSync(adbInterface, { recursive: true });
      ['ff', '42', '01'].forEach((value, index) => writeFileSync(join(adbInterface, ['bInterfaceClass', 'bInterfaceSubClass', 'bInterfaceProtocol'][index] ?? ''), `${value}\n`));
      const config = parseAgentConfig({ stateDir: mkdtempSync(join(tmpdir(), 'avcare-adb-')), vr: { apps: [APP], adbServerPort: port } });
      const result = await runProbe(createAdbProbe({ sysRoot }), { config, log: silentLogger }, 20_000);
      expect(result.status.state).toBe('ok');
      const [quest, pico] = result.findings.devices;
      expect(quest).toMatchObject({ id: 'adb:2G0YC5ZF8B0K4S', name: 'Oculus Quest 3', status: 'ok', vr: { authorized: true, battery: { level: 22 } } });
      expect(quest?.vr?.controllers).toHaveLength(2);
      expect(pico).toMatchObject({ id: 'adb:PA7L10MGD1200456', serialNumber: 'PA7L10MGD1200456', vr: { authorized: false } });
      expect(faultsOf(config, result.findings.devices).map((fault) => [fault.code, fault.deviceId])).toContainEqual(['VR_ADB_NOT_AUTHORIZED', 'adb:PA7L10MGD1200456']);
      expect(server.requests).toContain('host:devices-l');
      expect(server.requests).toContain('exec:dumpsys battery');
      await vi.waitFor(() => expect(server.openConnections).toBe(0));
    } finally {
      await server.stop();
    }
  });
});
