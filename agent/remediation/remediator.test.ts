import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AvcareError, type Device, type MediaInfo } from '../../protocol/index.js';
import { projector, usbDevice } from '../../test/helpers/device-factory.js';
import { parseAgentConfig, type AgentConfig, type AgentConfigInput } from '../config.js';
import { runProbeCycle } from '../cycle.js';
import { FaultMonitor } from '../fault-monitor.js';
import { faultKey, type CycleSnapshot, type FaultCondition } from '../faults/fault-condition.js';
import { silentLogger, type Logger } from '../../protocol/log.js';
import type { Probe, ProbeFindings } from '../probes/probe.js';
import { MockSerialLink, type openSerialLink } from '../probes/serial-link.js';
import { createSerialProbe } from '../probes/serial-probe.js';
import { fromHex, toHex } from '../probes/visca.js';
import type { RemediationAction } from './remediation-plan.js';
import { Remediator, type RemediatorOptions } from './remediator.js';
import { MockUsbResetter } from './usb-reset.js';

const SHORT_MS = 50;
const webcam = usbDevice({ name: 'Webcam C930e' });
const WORKING_MEDIA: MediaInfo = {
  videoNodes: [{ path: '/dev/video0', name: 'C930e', capabilities: ['video-capture'], canCapture: true, usbPort: '1-1.4' }],
  audioCards: [{ index: 1, id: 'C930e', name: 'C930e', capture: true, playback: false, usbPort: '1-1.4' }],
};
const NO_MEDIA: MediaInfo = { videoNodes: [], audioCards: [] };

/** A source whose findings the test changes, as a device would by recovering (or not). */
function scripted<T extends Probe['id']>(id: T, findings: ProbeFindings): Probe & { findings: ProbeFindings; runs: AgentConfig[] } {
  const probe = {
    id,
    findings,
    runs: [] as AgentConfig[],
    run: (context: { config: AgentConfig }) => {
      probe.runs.push(context.config);
      return Promise.resolve(probe.findings);
    },
  };
  return probe;
}

interface Setup {
  config: AgentConfig;
  monitor: FaultMonitor;
  remediator: Remediator;
  probes: Probe[];
}

function setup(input: AgentConfigInput, probes: Probe[], options: Partial<RemediatorOptions> = {}): Setup {
  const config = parseAgentConfig({ discoverSerialPorts: false, ...input });
  return { config, probes, monitor: new FaultMonitor(config, null), remediator: new Remediator({ config, log: silentLogger, probes, usbSettleMs: 0, ...options }) };
}

/** One cycle through the given probes, and the faults it shows: what the monitor hands the remediator. */
async function detectFaults({ config, monitor, probes }: Setup): Promise<{ cycle: CycleSnapshot; due: FaultCondition[] }> {
  const cycle = await runProbeCycle(probes, { config, log: silentLogger });
  return { cycle, due: monitor.detect(cycle) };
}

async function remediate(s: Setup, signal?: AbortSignal) {
  const { cycle, due } = await detectFaults(s);
  const context = { cycle, detect: (snapshot: CycleSnapshot) => s.monitor.detect(snapshot) };
  const report = await s.remediator.remediate(due, signal ? { ...context, signal } : context);
  return { due, report, actionsOf: (condition: FaultCondition | undefined): RemediationAction[] => (condition ? (report.actions.get(faultKey(condition)) ?? []) : []) };
}

function capturingLogger(): { log: Logger; lines: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, destination), lines: () => chunks.join('') };
}

describe('Remediator: USB reset', () => {
  function webcamWithoutMedia() {
    const usb = scripted('usb', { state: 'ok', devices: [webcam] });
    const media = scripted('media', { state: 'ok', devices: [], media: NO_MEDIA });
    const resetter = new MockUsbResetter();
    return { usb, media, resetter };
  }

  it('resets a webcam once for its two faults and holds both back when its nodes come back', async () => {
    const { usb, media, resetter } = webcamWithoutMedia();
    resetter.onReset = () => (media.findings = { state: 'ok', devices: [], media: WORKING_MEDIA });
    const { log, lines } = capturingLogger();
    const { due, report } = await remediate(setup({}, [usb, media], { usbResetter: resetter, log }));
    expect(due.map((c) => c.code)).toEqual(['CAMERA_NO_VIDEO_NODE', 'MICROPHONE_NO_CAPTURE']);
    expect(resetter.calls).toEqual([{ busNumber: 1, deviceAddress: 4, vendorId: 0x046d, productId: 0x0843, port: '1-1.4' }]);
    expect([...report.fixed]).toEqual(due.map(faultKey));
    expect(report.actions.size).toBe(0);
    expect(lines()).toContain('usb-reset fixed CAMERA_NO_VIDEO_NODE before it was raised');
    expect(lines()).toMatch(/"level":30[^\n]*usb-reset fixed MICROPHONE_NO_CAPTURE/);
  });

  it('reports the reset and what the re-probe still showed when the reset did not help', async () => {
    const { usb, media, resetter } = webcamWithoutMedia();
    const { due, report, actionsOf } = await remediate(setup({}, [usb, media], { usbResetter: resetter, now: () => new Date('2025-03-03T08:00:00Z') }));
    expect(report.fixed.size).toBe(0);
    expect(actionsOf(due[0])).toEqual([
      {
        action: 'usb-reset',
        at: '2025-03-03T08:00:00.000Z',
        result: 'reset the device through libusb; still failing afterwards: Webcam C930e is on USB but the system offers no usable video device for it: the driver did not bind or the camera failed to start',
      },
    ]);
    expect(actionsOf(due[1])[0]?.result).toMatch(/^reset the device through libusb; still failing afterwards: Webcam C930e is present but the system has no capture device/);
    // Re-probed with the agent's own USB and media probes, after the first cycle's run.
    expect(usb.runs).toHaveLength(2);
    expect(media.runs).toHaveLength(2);
  });

  it('does not reset the same device again within the cooldown, and still says what it tried', async () => {
    const { usb, media, resetter } = webcamWithoutMedia();
    let now = new Date('2025-03-03T08:00:00Z');
    const s = setup({ remediation: { cooldownMinutes: 30 } }, [usb, media], { usbResetter: resetter, now: () => now });
    const first = await remediate(s);
    now = new Date('2025-03-03T08:29:00Z');
    const second = await remediate(s);
    expect(resetter.calls).toHaveLength(1);
    expect(second.actionsOf(second.due[0])).toEqual(first.actionsOf(first.due[0]));
    now = new Date('2025-03-03T08:30:00Z');
    await remediate(s);
    expect(resetter.calls).toHaveLength(2);
  });

  it('re-probes without waiting when the reset could not be done, and reports why', async () => {
    const { usb, media, resetter } = webcamWithoutMedia();
    resetter.outcome = { reset: false, result: 'could not open the device at bus 1 address 4 (port 1-1.4) to reset it: LIBUSB_ERROR_ACCESS: no permission' };
    const started = performance.now();
    const { due, actionsOf } = await remediate(setup({}, [usb, media], { usbResetter: resetter, usbSettleMs: 5000 }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(actionsOf(due[0])[0]?.result).toMatch(/^could not open the device .* LIBUSB_ERROR_ACCESS: no permission; still failing afterwards/);
  });

  it('only probes again for a missing device, and does not call it fixed when USB cannot be read', async () => {
    const usb = scripted('usb', { state: 'unavailable', reason: 'no USB bus: /sys/bus/usb is absent', devices: [] });
    const resetter = new MockUsbResetter();
    const { due, report, actionsOf } = await remediate(setup({ expectedDevices: [{ kind: 'camera', label: 'front camera' }] }, [usb], { usbResetter: resetter }));
    expect(due.map((c) => c.code)).toEqual(['DEVICE_MISSING']);
    expect(resetter.calls).toEqual([]);
    expect(report.fixed.size).toBe(0);
    expect(actionsOf(due[0])[0]).toMatchObject({
      action: 're-probe',
      result: 'probed the device again; afterwards the device could not be read (usb: no USB bus: /sys/bus/usb is absent), so whether it helped is unknown',
    });
  });

  it('holds back a missing device that is there when probed again', async () => {
    const usb = scripted('usb', { state: 'ok', devices: [] });
    const media = scripted('media', { state: 'ok', devices: [], media: NO_MEDIA });
    const s = setup({ expectedDevices: [{ kind: 'camera' }] }, [usb, media]);
    const { cycle, due } = await detectFaults(s);
    usb.findings = { state: 'ok', devices: [webcam] };
    media.findings = { state: 'ok', devices: [], media: WORKING_MEDIA };
    const report = await s.remediator.remediate(due, { cycle, detect: (snapshot) => s.monitor.detect(snapshot) });
    expect([...report.fixed]).toEqual(['DEVICE_MISSING|expected:usb:camera']);
  });
});

describe('Remediator: VISCA re-init', () => {
  /** A camera on a mock line that ignores addressed commands until it has had IF_Clear, or forever. */
  function hungCamera(recovers: boolean): { open: typeof openSerialLink; written: string[] } {
    let cleared = false;
    const written: string[] = [];
    const open: typeof openSerialLink = () => {
      const link = new MockSerialLink();
      link.respond = (bytes, self) => {
        const hex = toHex(bytes);
        written.push(hex);
        const answer = (reply: string) => setImmediate(() => self.emit(fromHex(reply)));
        if (!recovers) return;
        if (hex === '88010001ff') {
          cleared = true;
          answer('88 01 00 01 FF');
        } else if (hex === '883001ff') answer('88 30 02 FF');
        else if (cleared && hex === '81090400ff') answer('90 50 03 FF');
      };
      return Promise.resolve(link);
    };
    return { open, written };
  }

  function viscaSetup(open: typeof openSerialLink): Setup {
    const serial = createSerialProbe({ open, inquiryTimeoutMs: SHORT_MS });
    return setup({ serialPorts: [{ path: '/dev/ttyUSB0', name: 'Front camera' }] }, [serial], { openSerial: open, viscaReplyTimeoutMs: SHORT_MS });
  }

  it('clears a hung camera with IF_Clear and Address Set, and holds its fault back', async () => {
    const { open, written } = hungCamera(true);
    const { due, report } = await remediate(viscaSetup(open));
    expect(due.map((c) => c.code)).toEqual(['VISCA_NOT_ANSWERING']);
    expect(written).toEqual(['81090400ff', '88010001ff', '883001ff', '81090400ff']);
    expect([...report.fixed]).toEqual(['VISCA_NOT_ANSWERING|serial:/dev/ttyUSB0']);
  });

  it('reports the re-init and the failed re-probe for a camera that stays dead', async () => {
    const { open } = hungCamera(false);
    const { due, report, actionsOf } = await remediate(viscaSetup(open));
    expect(report.fixed.size).toBe(0);
    expect(actionsOf(due[0])).toMatchObject([
      {
        action: 'visca-reinit',
        result: `no answer to IF_Clear or Address Set (no reply from the VISCA chain within ${SHORT_MS} ms); still failing afterwards: Front camera does not answer on /dev/ttyUSB0: no reply from VISCA camera 1 within ${SHORT_MS} ms`,
      },
    ]);
  });
});

describe('Remediator: PJLink reconnect', () => {
  const beamer = projector({ status: 'unreachable', error: { code: 'PJLINK_TIMEOUT', message: 'no greeting' } });
  delete beamer.pjlink;

  it('waits a moment, asks once more on a fresh connection to that projector only, and holds the fault back when it answers', async () => {
    const pjlink = scripted('pjlink', { state: 'ok', devices: [beamer] });
    const s = setup({ pjlink: [{ host: '10.0.0.5', password: 'pw' }, { host: '10.0.0.6' }] }, [pjlink], { pjlinkPauseMs: 100 });
    const { cycle, due } = await detectFaults(s);
    expect(due.map((c) => c.code)).toEqual(['PJLINK_NOT_ANSWERING']);
    pjlink.findings = { state: 'ok', devices: [projector()] };
    const started = performance.now();
    const report = await s.remediator.remediate(due, { cycle, detect: (snapshot) => s.monitor.detect(snapshot) });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    expect(report.fixed.size).toBe(1);
    expect(pjlink.runs.at(-1)?.pjlink).toEqual([{ host: '10.0.0.5', port: 4352, password: 'pw', lampLifeHours: 3000 }]);
  });

  it('says what it tried when the projector still does not answer', async () => {
    const pjlink = scripted('pjlink', { state: 'ok', devices: [beamer] });
    const { due, actionsOf } = await remediate(setup({ pjlink: [{ host: '10.0.0.5' }] }, [pjlink], { pjlinkPauseMs: 10 }));
    expect(actionsOf(due[0])[0]?.result).toBe(
      'waited 10 ms and asked 10.0.0.5:4352 again on a fresh connection; still failing afterwards: Room 101 projector does not answer PJLink at 10.0.0.5:4352: no greeting',
    );
  });
});

describe('Remediator: bounds', () => {
  const hangingSerial: Probe = { id: 'serial', run: (_context, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) };
  const deadCamera: Device = {
    id: 'serial:/dev/ttyUSB0',
    kind: 'camera',
    name: 'Front camera',
    connection: { type: 'serial', path: '/dev/ttyUSB0', protocol: 'visca', baudRate: 9600 },
    status: 'unreachable',
    error: { code: 'VISCA_TIMEOUT', message: 'no reply' },
  };
  const condition: FaultCondition = { code: 'VISCA_NOT_ANSWERING', deviceId: deadCamera.id, source: 'serial', message: 'Front camera does not answer', messageKey: 'faults.VISCA_NOT_ANSWERING', params: { device: 'Front camera', place: '/dev/ttyUSB0', reason: 'no reply' }, evidence: {} };
  const cycle: CycleSnapshot = { at: new Date(), devices: [deadCamera], sources: [{ source: 'serial', state: 'ok', durationMs: 1 }] };
  const silentOpen: typeof openSerialLink = () => Promise.resolve(new MockSerialLink());

  it('gives up when its time budget is used up, and does not call the fault fixed', async () => {
    const config = parseAgentConfig({ serialPorts: [{ path: '/dev/ttyUSB0' }], remediation: { budgetSeconds: 1 } });
    const remediator = new Remediator({ config, log: silentLogger, probes: [hangingSerial], openSerial: silentOpen, viscaReplyTimeoutMs: SHORT_MS });
    const started = performance.now();
    const report = await remediator.remediate([condition], { cycle, detect: () => [] });
    expect(performance.now() - started).toBeLessThan(1500);
    expect(report.fixed.size).toBe(0);
    expect(report.actions.get(faultKey(condition))?.[0]?.result).toContain('remediation did not finish within its budget of 1 s');
  });

  it('stops at once when the agent stops', async () => {
    const config = parseAgentConfig({ serialPorts: [{ path: '/dev/ttyUSB0' }] });
    const remediator = new Remediator({ config, log: silentLogger, probes: [hangingSerial], openSerial: silentOpen, viscaReplyTimeoutMs: 5000 });
    const stopping = new AbortController();
    setTimeout(() => stopping.abort(new Error('the agent is stopping')), 20);
    const started = performance.now();
    const report = await remediator.remediate([condition], { cycle, detect: () => [], signal: stopping.signal });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(report.fixed.size).toBe(0);
  });

  it('tries nothing when remediation is turned off', async () => {
    const config = parseAgentConfig({ serialPorts: [{ path: '/dev/ttyUSB0' }], remediation: { enabled: false } });
    const opened: string[] = [];
    const open: typeof openSerialLink = (path) => {
      opened.push(path);
      return Promise.reject(new AvcareError('SERIAL_OPEN_FAILED', 'not expected'));
    };
    const report = await new Remediator({ config, log: silentLogger, probes: [hangingSerial], openSerial: open }).remediate([condition], { cycle, detect: () => [] });
    expect(report).toEqual({ fixed: new Set(), actions: new Map() });
    expect(opened).toEqual([]);
  });

  it('runs the USB and the PJLink fixes side by side, not one after the other', async () => {
    const usb = scripted('usb', { state: 'ok', devices: [webcam] });
    const media = scripted('media', { state: 'ok', devices: [], media: NO_MEDIA });
    const silentBeamer = projector({ status: 'unreachable', error: { code: 'PJLINK_TIMEOUT', message: 'no greeting' } });
    const pjlink = scripted('pjlink', { state: 'ok', devices: [silentBeamer] });
    const s = setup({ pjlink: [{ host: '10.0.0.5' }] }, [usb, media, pjlink], { usbResetter: new MockUsbResetter(), usbSettleMs: 400, pjlinkPauseMs: 400 });
    const started = performance.now();
    const { due, report } = await remediate(s);
    expect(due.map((c) => c.code).sort()).toEqual(['CAMERA_NO_VIDEO_NODE', 'MICROPHONE_NO_CAPTURE', 'PJLINK_NOT_ANSWERING']);
    expect(report.actions.size).toBe(3);
    expect(performance.now() - started).toBeLessThan(750);
  });
});
