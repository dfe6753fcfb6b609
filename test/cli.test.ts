import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inventoryMessageSchema, probeResultSchema } from '../protocol/index.js';
import { openPtyPair, type PtyPair } from './helpers/pty-pair.js';
import { runCli, writeConfig } from './helpers/run-cli.js';
import { startPjlinkProjector } from './sim/pjlink-projector.js';
import { startViscaCamera } from './sim/visca-camera.js';
import { startViscaIpCamera } from './sim/visca-ip-camera.js';
import { startAedes } from './transport/aedes-broker.js';
import { record } from './transport/recorder.js';

const FIXTURES = join(import.meta.dirname, 'fixtures/usb');

// These run the built `avcare-agent` as a user would; `npm test` builds it first.
describe('avcare-agent command line', () => {
  it('probe --json prints only an inventory valid against the protocol schema, with USB reported unavailable on this PC', async () => {
    const result = await runCli(['probe', '--json']);
    expect(result.code).toBe(0);
    const inventory = inventoryMessageSchema.parse(JSON.parse(result.stdout));
    const usb = inventory.sources.find((s) => s.source === 'usb');
    const system = inventory.sources.find((s) => s.source === 'system');
    expect(system?.state).toBe('ok');
    // This machine has no /sys/bus/usb: a state with its reason, not a crash and not an empty success.
    expect(usb?.state).toBe('unavailable');
    expect(usb?.reason).toMatch(/\/sys\/bus\/usb/);
  });

  it("service-definition prints the Windows service's XML and the macOS plist for the Node.js given, running the installed cli.js; refuses Linux and an unknown platform", async () => {
    const windows = await runCli(['service-definition', '--platform', 'windows', '--node', 'C:\\Program Files\\nodejs\\node.exe']);
    expect(windows.code).toBe(0);
    expect(windows.stdout).toContain('<executable>C:\\Program Files\\nodejs\\node.exe</executable>');
    expect(windows.stdout).toMatch(/<arguments>--jitless --no-expose-wasm --max-semi-space-size=1 \S+dist\/agent\/cli\.js run<\/arguments>/);
    const mac = await runCli(['service-definition', '--platform', 'macos', '--node', '/usr/local/bin/node']);
    expect(mac.code).toBe(0);
    expect(mac.stdout).toContain('<string>cn.avcare.agent</string>');
    const linux = await runCli(['service-definition', '--platform', 'linux']);
    expect(linux.code).toBe(1);
    expect(linux.stderr).toMatch(/on Linux the service is the systemd unit install.sh writes/);
    const unknown = await runCli(['service-definition', '--platform', 'beos']);
    expect(unknown.stderr).toMatch(/unknown --platform beos: windows, macos or linux/);
  });

  it('probe prints devices, sources and faults for a person', async () => {
    const result = await runCli(['probe']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Sources:$/m);
    expect(result.stdout).toMatch(/^usb\s+unavailable: no USB bus/m);
    expect(result.stdout).toMatch(/^Faults \(this cycle/m);
  });

  it('probe --replay classifies a school\'s lsusb -v dump', async () => {
    const result = await runCli(['probe', '--replay', join(FIXTURES, 'vr-htc-vive-set.constructed.lsusb.txt')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^vr-headset\s+HTC Vive\s+0bb4:2c87/m);
    expect(result.stdout).toMatch(/^vr-tracking\s+/m);
    expect(result.stdout).toMatch(/^vr-controller\s+Watchman Dongle/m);
  });

  it('probe --replay reads a dump pasted in a mail and says which lines it skipped, in text and JSON', async () => {
    const mail = join(FIXTURES, 'touchscreen-jieli-4c4a-4155.mail.txt');
    const human = await runCli(['probe', '--replay', mail]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^other\s+USB Composite Device\s+4c4a:4155/m);
    expect(human.stderr).toMatch(/^Skipped \d+ line\(s\) of .*touchscreen-jieli-4c4a-4155\.mail\.txt that are not lsusb -v output:$/m);
    expect(human.stderr).toMatch(/line 11: Couldn't open device, some information will be missing \(lsusb could not read everything of this device\)/);
    expect(human.stderr).toMatch(/\.\.\. and \d+ more/);
    const json = probeResultSchema.parse(JSON.parse((await runCli(['probe', '--replay', mail, '--json'])).stdout));
    expect(json.replay?.skippedTotal).toBe(json.replay?.skippedLines.length);
    expect(json.replay?.skippedLines).toContainEqual({ line: 70, text: 'Best regards,', kind: 'prose', reason: 'not lsusb output (after a device)' });
  });

  it('probe --replay reads a touch panel paste of several Linux tools and says what each showed, in text and JSON', async () => {
    const paste = join(FIXTURES, '../touch/classroom-panel-egalax-no-input.paste.txt');
    const human = await runCli(['probe', '--replay', paste]);
    expect(human.stdout).toContain('What the paste shows:\n  usb-devices: 1 USB device(s); HID interfaces and their drivers: 0eef:c000#0 (none)');
    expect(human.stdout).toMatch(/touch-panel\s+eGalaxTouch EXC3000-0368-44.00.00\s+0eef:c000\s+usb 1-2\s+ok \(descriptor unread; no driver; no input device\)/);
    expect(human.stdout).toContain('TOUCH_NO_INPUT');
    const json = probeResultSchema.parse(JSON.parse((await runCli(['probe', '--replay', paste, '--json'])).stdout));
    expect(json.replay?.concluded?.map((c) => c.tool)).toEqual(['usb-devices', '/proc/bus/input/devices']);
    expect(json.devices[0]?.touch).toEqual({ touchClass: 'unknown', driver: null, inputDevices: [], touchInput: false });
    expect(json.faults.map((fault) => fault.code)).toEqual(['TOUCH_NO_INPUT']);
  });

  it('probe --replay --json round-trips through the agent\'s own JSON', async () => {
    const first = await runCli(['probe', '--replay', join(FIXTURES, 'webcam-logitech-c270-with-mic.lsusb.txt'), '--json']);
    expect(first.code).toBe(0);
    const saved = join(mkdtempSync(join(tmpdir(), 'avcare-replay-')), 'room.json');
    writeFileSync(saved, first.stdout);
    const second = await runCli(['probe', '--replay', saved, '--json']);
    expect(second.code).toBe(0);
    const [a, b] = [first, second].map((r) => inventoryMessageSchema.parse(JSON.parse(r.stdout)));
    expect(b?.devices.map((d) => [d.id, d.kind])).toEqual(a?.devices.map((d) => [d.id, d.kind]));
    expect(a?.devices.some((d) => d.kind === 'camera')).toBe(true);
  });

  it('probe --json carries the cycle\'s faults with their self-help, and --replay reads that JSON back', async () => {
    // The room expects a camera; the school's dump has none: the human output and the JSON both say so.
    const config = writeConfig({ expectedDevices: [{ kind: 'camera', label: 'front camera' }] });
    const dump = join(FIXTURES, 'vr-htc-vive-set.constructed.lsusb.txt');
    const human = await runCli(['-c', config, 'probe', '--replay', dump]);
    expect(human.stdout).toMatch(/urgent\s+hardware\s+DEVICE_MISSING/);
    const json = await runCli(['-c', config, 'probe', '--replay', dump, '--json']);
    expect(json.code).toBe(0);
    const result = probeResultSchema.parse(JSON.parse(json.stdout));
    expect(result.faults).toEqual([
      expect.objectContaining({ code: 'DEVICE_MISSING', severity: 'urgent', category: 'hardware', deviceId: expect.any(String) as string, message: expect.stringContaining('front camera') as string }),
    ]);
    expect(result.faults[0]?.selfHelp[0]).toMatch(/plugged in/);
    expect(result.faults[0]?.evidence).toMatchObject({ expected: { kind: 'camera' } });
    const saved = join(mkdtempSync(join(tmpdir(), 'avcare-replay-')), 'room.json');
    writeFileSync(saved, json.stdout);
    const again = probeResultSchema.parse(JSON.parse((await runCli(['-c', config, 'probe', '--replay', saved, '--json'])).stdout));
    expect(again.faults.map((fault) => fault.code)).toEqual(['DEVICE_MISSING']);
  });

  it('probe --replay refuses a file that is neither, saying what it expected', async () => {
    const notes = join(mkdtempSync(join(tmpdir(), 'avcare-replay-')), 'notes.txt');
    writeFileSync(notes, 'the projector flickers\n');
    const result = await runCli(['probe', '--replay', notes]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('REPLAY_UNRECOGNISED');
    expect(result.stderr).toContain('lsusb -v');
    expect(result.stdout).toBe('');
  });

  it('refuses an invalid configuration naming the field and the problem', async () => {
    const result = await runCli(['--config', writeConfig({ probeIntervalSeconds: 'often', pjlink: [{ host: '' }] }), 'probe']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CONFIG_INVALID');
    expect(result.stderr).toContain('probeIntervalSeconds');
    expect(result.stderr).toContain('pjlink.0.host');
  });

  it('probe --pjlink checks one projector ad hoc and shows its lamp warning, never the password', async () => {
    const projector = await startPjlinkProjector({ password: 'classroom42', errors: '010000', lamps: [[2950, true]], name: 'Room 101' });
    try {
      const result = await runCli(['probe', '--pjlink', `${projector.host}:${projector.port},classroom42`]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^projector\s+Room 101\s+pjlink 127\.0\.0\.1:\d+\s+degraded/m);
      expect(result.stdout).toContain('PJLINK_LAMP_WARNING');
      expect(result.stdout).toContain('LAMP_END_OF_LIFE');
      expect(`${result.stdout}${result.stderr}`).not.toContain('classroom42');
    } finally {
      await projector.close();
    }
  });

  it('probe --visca-ip finds the framing of a network camera and says so, in text and JSON', async () => {
    const camera = await startViscaIpCamera({ framing: 'raw-udp', mode: 'on' });
    try {
      const human = await runCli(['probe', '--visca-ip', `127.0.0.1:${camera.port}`]);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(new RegExp(`^camera\\s+VISCA camera at 127\\.0\\.0\\.1\\s+visca 127\\.0\\.0\\.1:${camera.port} raw-udp\\s+ok \\(framing found: raw-udp\\)`, 'm'));
      expect(human.stdout).toMatch(/^visca-ip ok/m);
      const json = probeResultSchema.parse(JSON.parse((await runCli(['probe', '--visca-ip', `127.0.0.1:${camera.port}@raw-udp`, '--json'])).stdout));
      expect(json.devices).toEqual([expect.objectContaining({ status: 'ok', connection: { type: 'network', host: '127.0.0.1', port: camera.port, protocol: 'visca', framing: 'raw-udp' } })]);
    } finally {
      await camera.close();
    }
  });

  describe('probe --serial against a simulated VISCA camera on a pty', () => {
    let pair: PtyPair;
    beforeAll(async () => {
      pair = await openPtyPair();
    });
    afterAll(async () => {
      await pair.close();
    });

    it('reports a camera that is on', async () => {
      const camera = await startViscaCamera(pair.b, { mode: 'on' });
      try {
        const result = await runCli(['probe', '--serial', `${pair.a}:visca`, '--json']);
        expect(result.code).toBe(0);
        const device = inventoryMessageSchema.parse(JSON.parse(result.stdout)).devices[0];
        expect(device).toMatchObject({ kind: 'camera', status: 'ok', visca: { power: 'on' } });
      } finally {
        await camera.close();
      }
    });

    it('raises VISCA_POWER_ERROR for a camera reporting a power-circuit error', async () => {
      const camera = await startViscaCamera(pair.b, { mode: 'power-error' });
      try {
        const result = await runCli(['probe', '--serial', `${pair.a}:visca`]);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/urgent\s+hardware\s+VISCA_POWER_ERROR/);
      } finally {
        await camera.close();
      }
    });
  });

  it('run --pretty probes, prints what it finds and stops after the requested cycles', async () => {
    const result = await runCli(['run', '--pretty', '--max-cycles', '1']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/agent \S+ in unassigned\/\S+: \d+ device\(s\)/);
    expect(result.stdout).toMatch(/^usb\s+unavailable/m);
  });

  it('run --broker --school --room publishes to the broker over the configuration file and keeps printing', async () => {
    const broker = await startAedes();
    const recorder = await record(broker.url);
    try {
      // stateDir in the file: as root the agent would otherwise keep its outbox in /var/lib/avcare.
      const config = writeConfig({ schoolId: 'from-file', stateDir: mkdtempSync(join(tmpdir(), 'avcare-cli-outbox-')) });
      const result = await runCli(['-c', config, 'run', '--pretty', '--broker', broker.url, '--school', 'sch-9', '--room', 'r-204', '--max-cycles', '1']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Publishing to ${broker.url}`);
      expect(result.stdout).toMatch(/agent \S+ in sch-9\/r-204: \d+ device\(s\)/);
      await recorder.waitFor((received) => received.some((r) => r.message.type === 'status' && r.message.state === 'offline'));
      const types = recorder.received.map((r) => r.message.type);
      expect(types[0]).toBe('status');
      expect(types).toEqual(expect.arrayContaining(['inventory', 'health']));
      expect(recorder.received.every((r) => r.message.schoolId === 'sch-9' && r.message.roomId === 'r-204')).toBe(true);
    } finally {
      await recorder.close();
      await broker.close();
    }
  });

  it('run rejects a bad --school or --broker with the usual field error before probing', async () => {
    const school = await runCli(['run', '--school', 'room/101', '--max-cycles', '1']);
    expect(school.code).toBe(1);
    expect(school.stderr).toContain('CONFIG_INVALID');
    expect(school.stderr).toMatch(/schoolId: may hold letters/);
    const broker = await runCli(['run', '--broker', 'http://cloud.example', '--max-cycles', '1']);
    expect(broker.code).toBe(1);
    expect(broker.stderr).toMatch(/broker\.url: must be an mqtt:\/\/ or mqtts:\/\/ URL/);
  });

  it('doctor names the missing USB bus with a fix and exits non-zero', async () => {
    const result = await runCli(['doctor', '--json']);
    expect(result.code).toBe(1);
    const checks = JSON.parse(result.stdout) as Array<{ id: string; status: string; detail: string }>;
    const failing = checks.filter((check) => check.status === 'fail');
    expect(failing.map((c) => c.detail).join(' ')).toMatch(/\/sys\/bus\/usb/);
  });
});
