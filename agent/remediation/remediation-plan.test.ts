import { describe, expect, it } from 'vitest';
import type { Device, FaultCode, ProbeSource } from '../../protocol/index.js';
import { okSources, projector, usbDevice, viscaCamera } from '../../test/helpers/device-factory.js';
import { parseAgentConfig, type AgentConfigInput } from '../config.js';
import type { FaultCondition } from '../faults/fault-condition.js';
import { MAX_EVIDENCE_ACTIONS, RemediationHistory, actionResult, judgeReprobe, planRemediations, withActions, type RemediationAction } from './remediation-plan.js';

const NOW = new Date('2025-03-03T08:00:00Z');
const MINUTE = 60_000;

const baseInput: AgentConfigInput = {
  serialPorts: [{ path: '/dev/ttyUSB0' }, { path: '/dev/ttyUSB0', address: 2 }, { path: '/dev/ttyS0', protocol: 'none' }],
  pjlink: [{ host: '10.0.0.5', password: 'secret' }],
};
const config = parseAgentConfig(baseInput);

const webcam = usbDevice();
const camera = viscaCamera();
const beamer = projector();
const devices: Device[] = [webcam, camera, beamer];

function fault(code: FaultCode, device: Device | string | null, source: ProbeSource): FaultCondition {
  const deviceId = typeof device === 'string' || device === null ? device : device.id;
  return { code, deviceId, source, message: `${code} on ${deviceId ?? 'the PC'}`, messageKey: 'faults.CPU_SUSTAINED_HIGH', params: { load: 0, threshold: 0 }, evidence: { seen: true } };
}

function plan(due: FaultCondition[], options: { history?: RemediationHistory; now?: Date; input?: AgentConfigInput } = {}) {
  return planRemediations(due, {
    config: options.input ? parseAgentConfig(options.input) : config,
    devices,
    history: options.history ?? new RemediationHistory(30 * MINUTE),
    now: options.now ?? NOW,
  });
}

function tried(action: RemediationAction['action'], at: Date, result = 'did it'): RemediationAction {
  return { action, at: at.toISOString(), result };
}

describe('planRemediations: which fix for which fault', () => {
  it('re-initialises the VISCA line of a camera that does not answer, re-probing only that port', () => {
    const { jobs, skipped } = plan([fault('VISCA_NOT_ANSWERING', camera, 'serial')]);
    expect(skipped).toEqual([]);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job?.step).toEqual({ action: 'visca-reinit', path: '/dev/ttyUSB0', baudRate: 9600, addresses: [1, 2] });
    expect(job?.lane).toBe('serial');
    expect(job?.reprobe.sources).toEqual(['serial']);
    // Both cameras of the daisy chain, nothing else, and no discovery of other ports.
    expect(job?.reprobe.config.serialPorts.map((port) => `${port.path}@${port.address}`)).toEqual(['/dev/ttyUSB0@1', '/dev/ttyUSB0@2']);
    expect(job?.reprobe.config.discoverSerialPorts).toBe(false);
  });

  it('re-initialises the VISCA line of a camera reporting a power-circuit error too', () => {
    expect(plan([fault('VISCA_POWER_ERROR', camera, 'serial')]).jobs.map((job) => job.step.action)).toEqual(['visca-reinit']);
  });

  it('reconnects to a silent projector with its configured password, re-probing only that projector', () => {
    const [job] = plan([fault('PJLINK_NOT_ANSWERING', beamer, 'pjlink')]).jobs;
    expect(job?.step).toEqual({ action: 'pjlink-reconnect', host: '10.0.0.5', port: 4352 });
    expect(job?.reprobe).toMatchObject({ sources: ['pjlink'], config: { pjlink: [{ host: '10.0.0.5', port: 4352, password: 'secret' }] } });
  });

  it.each(['CAMERA_NO_VIDEO_NODE', 'MICROPHONE_NO_CAPTURE'] as const)('resets a USB device that is present but unusable (%s), then probes USB and media again', (code) => {
    const [job] = plan([fault(code, webcam, 'media')]).jobs;
    expect(job?.step).toEqual({ action: 'usb-reset', usb: { busNumber: 1, deviceAddress: 4, vendorId: 0x046d, productId: 0x0843, port: '1-1.4' } });
    expect(job?.reprobe.sources).toEqual(['usb', 'media']);
  });

  it('only probes again for a missing device: there is nothing on the bus to reset', () => {
    const [job] = plan([fault('DEVICE_MISSING', 'expected:usb:camera', 'usb')]).jobs;
    expect(job?.step).toEqual({ action: 're-probe' });
    expect(job?.reprobe.sources).toEqual(['usb', 'media']);
  });

  it.each([
    ['DISK_NEARLY_FULL', null, 'system'],
    ['CPU_SUSTAINED_HIGH', null, 'system'],
    ['MICROPHONE_MUTED', webcam, 'media'],
    ['PJLINK_AUTH_FAILED', beamer, 'pjlink'],
    ['PJLINK_LAMP_ERROR', beamer, 'pjlink'],
    ['LAMP_END_OF_LIFE', beamer, 'pjlink'],
  ] as const)('tries nothing for %s', (code, device, source) => {
    const { jobs, skipped } = plan([fault(code, device, source)]);
    expect(jobs).toEqual([]);
    expect(skipped).toMatchObject([{ reason: 'no-remediation', earlier: [] }]);
  });

  it('resets a webcam once for its two faults (no video node and no capture)', () => {
    const { jobs } = plan([fault('CAMERA_NO_VIDEO_NODE', webcam, 'media'), fault('MICROPHONE_NO_CAPTURE', webcam, 'media')]);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.conditions.map((condition) => condition.code)).toEqual(['CAMERA_NO_VIDEO_NODE', 'MICROPHONE_NO_CAPTURE']);
  });

  it('re-initialises a daisy chain once when both of its cameras fail', () => {
    const second = viscaCamera({ id: 'serial:/dev/ttyUSB0#2' });
    const { jobs } = planRemediations([fault('VISCA_NOT_ANSWERING', camera, 'serial'), fault('VISCA_NOT_ANSWERING', second, 'serial')], {
      config,
      devices: [camera, second],
      history: new RemediationHistory(30 * MINUTE),
      now: NOW,
    });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.conditions).toHaveLength(2);
  });

  it('falls back to a re-probe when the unusable USB device is not in the cycle any more', () => {
    const { jobs } = plan([fault('CAMERA_NO_VIDEO_NODE', 'usb:dead:beef:1-2', 'media')]);
    expect(jobs.map((job) => job.step.action)).toEqual(['re-probe']);
  });

  it('does not touch a serial port that is not configured for VISCA', () => {
    const unconfigured = viscaCamera({ id: 'serial:/dev/ttyUSB7', connection: { type: 'serial', path: '/dev/ttyUSB7', protocol: 'visca', baudRate: 9600 } });
    const result = planRemediations([fault('VISCA_NOT_ANSWERING', unconfigured, 'serial')], { config, devices: [unconfigured], history: new RemediationHistory(30 * MINUTE), now: NOW });
    expect(result.jobs).toEqual([]);
    expect(result.skipped[0]?.reason).toBe('no-remediation');
  });

  it('puts jobs in lanes by the source they probe again', () => {
    const { jobs } = plan([fault('VISCA_NOT_ANSWERING', camera, 'serial'), fault('PJLINK_NOT_ANSWERING', beamer, 'pjlink'), fault('CAMERA_NO_VIDEO_NODE', webcam, 'media'), fault('DEVICE_MISSING', 'expected:usb:microphone', 'usb')]);
    expect(jobs.map((job) => `${job.lane}:${job.step.action}`)).toEqual(['serial:visca-reinit', 'pjlink:pjlink-reconnect', 'usb:usb-reset', 'usb:re-probe']);
  });

  it('plans nothing, and reports nothing tried, when remediation is turned off', () => {
    const history = new RemediationHistory(30 * MINUTE);
    const condition = fault('VISCA_NOT_ANSWERING', camera, 'serial');
    history.record(condition, tried('visca-reinit', new Date(NOW.getTime() - MINUTE)));
    const { jobs, skipped } = plan([condition], { history, input: { ...baseInput, remediation: { enabled: false } } });
    expect(jobs).toEqual([]);
    expect(skipped).toEqual([{ condition, reason: 'disabled', earlier: [] }]);
  });
});

describe('planRemediations: cooldown', () => {
  const condition = fault('VISCA_NOT_ANSWERING', camera, 'serial');

  it('does not repeat a fix for the same fault within the cooldown, and hands on what it tried then', () => {
    const history = new RemediationHistory(30 * MINUTE);
    const earlier = tried('visca-reinit', new Date(NOW.getTime() - 29 * MINUTE), 'camera answered IF_Clear; the fault was gone afterwards');
    history.record(condition, earlier);
    const { jobs, skipped } = plan([condition], { history });
    expect(jobs).toEqual([]);
    expect(skipped).toEqual([{ condition, reason: 'cooling-down', earlier: [earlier] }]);
  });

  it('tries again once the cooldown has passed, and forgets the old attempt', () => {
    const history = new RemediationHistory(30 * MINUTE);
    history.record(condition, tried('visca-reinit', new Date(NOW.getTime() - 30 * MINUTE)));
    const { jobs } = plan([condition], { history });
    expect(jobs.map((job) => job.step.action)).toEqual(['visca-reinit']);
    expect(history.earlier(condition, NOW)).toEqual([]);
  });

  it('cools down per fault: a re-init for one camera does not hold back another port', () => {
    const history = new RemediationHistory(30 * MINUTE);
    history.record(condition, tried('visca-reinit', NOW));
    const other = viscaCamera({ id: 'serial:/dev/ttyUSB1', connection: { type: 'serial', path: '/dev/ttyUSB1', protocol: 'visca', baudRate: 9600 } });
    const result = planRemediations([fault('VISCA_NOT_ANSWERING', other, 'serial')], {
      config: parseAgentConfig({ serialPorts: [{ path: '/dev/ttyUSB0' }, { path: '/dev/ttyUSB1' }] }),
      devices: [other],
      history,
      now: NOW,
    });
    expect(result.jobs).toHaveLength(1);
  });

  it('takes the cooldown from the configuration', () => {
    const history = new RemediationHistory(5 * MINUTE);
    history.record(condition, tried('visca-reinit', new Date(NOW.getTime() - 6 * MINUTE)));
    expect(plan([condition], { history }).jobs).toHaveLength(1);
  });
});

describe('judgeReprobe', () => {
  const condition = fault('CAMERA_NO_VIDEO_NODE', webcam, 'media');
  const snapshot = { at: NOW, devices: [webcam], sources: okSources('usb', 'media') };

  it('calls the fault fixed when every source was read and the rules no longer show it', () => {
    expect(judgeReprobe(condition, snapshot, [fault('MICROPHONE_NO_CAPTURE', webcam, 'media')])).toEqual({ fixed: true, text: 'the fault was gone afterwards' });
  });

  it('quotes the fault as it still shows', () => {
    const still = { ...condition, message: 'Webcam is on USB but has no usable video node' };
    expect(judgeReprobe(condition, snapshot, [still])).toEqual({ fixed: false, text: 'still failing afterwards: Webcam is on USB but has no usable video node' });
  });

  it('does not call it fixed when a source could not be read, and says why', () => {
    const unreadable = { ...snapshot, sources: [...okSources('media'), { source: 'usb' as const, state: 'unavailable' as const, reason: 'no USB bus', durationMs: 1 }] };
    const verdict = judgeReprobe(condition, unreadable, []);
    expect(verdict.fixed).toBe(false);
    expect(verdict.text).toContain('usb: no USB bus');
  });

  it('does not call it fixed when a source was not probed at all', () => {
    expect(judgeReprobe(condition, { ...snapshot, sources: okSources('usb') }, [])).toMatchObject({ fixed: false, text: expect.stringContaining('media: not probed') as unknown });
  });

  it('needs only USB to see a missing USB device gone, not the media nodes', () => {
    const missing = fault('DEVICE_MISSING', 'expected:usb:camera', 'usb');
    expect(judgeReprobe(missing, { ...snapshot, sources: okSources('usb') }, []).fixed).toBe(true);
  });
});

describe('actions in the evidence', () => {
  const condition = fault('VISCA_NOT_ANSWERING', camera, 'serial');

  it('adds evidence.actions in the shape the cloud reads, keeping the rest of the evidence', () => {
    const action = tried('visca-reinit', NOW, 'no answer to IF_Clear or Address Set; still failing afterwards: no reply');
    expect(withActions(condition, [action]).evidence).toEqual({ seen: true, actions: [{ action: 'visca-reinit', at: '2025-03-03T08:00:00.000Z', result: action.result }] });
  });

  it('adds no actions field when nothing was tried', () => {
    expect(withActions(condition, [])).toBe(condition);
  });

  it(`keeps the newest ${MAX_EVIDENCE_ACTIONS} actions`, () => {
    const many = Array.from({ length: 25 }, (_, i) => tried('re-probe', new Date(NOW.getTime() + i), `attempt ${i}`));
    const actions = withActions(condition, many).evidence.actions as RemediationAction[];
    expect(actions).toHaveLength(MAX_EVIDENCE_ACTIONS);
    expect(actions.at(-1)?.result).toBe('attempt 24');
  });

  it('caps a result sentence that quotes a long device message', () => {
    const result = actionResult('probed the device again', { fixed: false, text: `still failing afterwards: ${'x'.repeat(1000)}` });
    expect(result.length).toBe(500);
    expect(result.endsWith('…')).toBe(true);
  });
});
