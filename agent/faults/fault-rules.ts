import { pjlinkFaultCode, type Device, type PjlinkInfo } from '../../protocol/index.js';
import type { AgentConfig } from '../config.js';
import { expectationId, findMissing, type Expectation } from './expected-devices.js';
import type { CycleSnapshot, FaultCondition } from './fault-condition.js';
import { condition, deviceEvidence, type FaultRule, type RuleContext } from './fault-rule-kit.js';
import { unstableConnections } from './unstable-connection.js';
import { vrAppVersionMismatch, vrControllerUnstable, vrHeadsetFaults } from './vr-rules.js';
import { windowsCameraHeld, windowsDeviceProblems, windowsPrivacyBlocks, windowsRecordingSilenced } from './windows-rules.js';

export type { FaultRule, RuleContext } from './fault-rule-kit.js';

export const expectedDeviceMissing: FaultRule = (snapshot, { expectations }) => {
  const missing = findMissing(expectations, snapshot.devices);
  const seenIds = new Map<string, number>();
  const counted = missing.filter((expectation) => (expectation.count ?? 1) > 1);
  return [...new Set(counted)].map((expectation) => countedMissing(expectation, counted.filter((entry) => entry === expectation).length, snapshot.devices)).concat(missing.filter((expectation) => (expectation.count ?? 1) === 1).map((expectation) => {
    const base = expectationId(expectation);
    const count = (seenIds.get(base) ?? 0) + 1;
    seenIds.set(base, count);
    const id = count === 1 ? base : `${base}#${count}`;
    const evidence = { expected: expectation, presentOfKind: snapshot.devices.filter((d) => d.kind === expectation.kind).map((d) => d.id) };
    const label = expectation.label;
    const missing =
      expectation.origin === 'config'
        ? condition('DEVICE_MISSING', null, expectation.source, evidence, 'faults.DEVICE_MISSING.config', { label })
        : expectation.lastSeenAt
          ? condition('DEVICE_MISSING', null, expectation.source, evidence, 'faults.DEVICE_MISSING.learnedSince', { label, lastSeen: expectation.lastSeenAt })
          : condition('DEVICE_MISSING', null, expectation.source, evidence, 'faults.DEVICE_MISSING.learned', { label });
    return { ...missing, deviceId: id };
  }));
};

/** "cart A: 30 expected, 27 seen": one fault for a set of devices, its count going up and down with the set. */
function countedMissing(expectation: Expectation, missingCount: number, devices: readonly Device[]): FaultCondition {
  const expected = expectation.count ?? 1;
  const seen = expected - missingCount;
  const present = devices.filter((device) => device.kind === expectation.kind).map((device) => device.id);
  const evidence = { expected: expectation, expectedCount: expected, seenCount: seen, presentOfKind: present.slice(0, 200) };
  return { ...condition('DEVICE_MISSING', null, expectation.source, evidence, 'faults.DEVICE_MISSING.count', { label: expectation.label, expected, seen }), deviceId: expectationId(expectation) };
}

const VIDEO_CLASS = 0x0e;
const AUDIO_CLASS = 0x01;
const AUDIO_STREAMING = 0x02;
const CAPTURING_KINDS = new Set(['microphone', 'speakerphone', 'headset']);

/** Media nodes are only known where the OS exposes them; without that nothing can be concluded. */
export const deviceUnusable: FaultRule = (snapshot) => {
  const faults: FaultCondition[] = [];
  for (const device of snapshot.devices) {
    if (!device.usb || !device.media) continue;
    // macOS's system_profiler prints no interfaces: the device's kind (from its ids and name) stands for them.
    const interfacesKnown = device.usb.interfaces.length > 0;
    const hasVideo = interfacesKnown ? device.usb.interfaces.some((i) => i.class === VIDEO_CLASS) : device.kind === 'camera' || device.kind === 'capture-card';
    const hasAudioStreaming = device.usb.interfaces.some((i) => i.class === AUDIO_CLASS && i.subClass === AUDIO_STREAMING);
    const { videoNodes, audioCards } = device.media;
    if ((device.kind === 'camera' || device.kind === 'capture-card') && hasVideo && !videoNodes.some((node) => node.canCapture)) {
      faults.push(condition('CAMERA_NO_VIDEO_NODE', device, 'media', { device: deviceEvidence(device), videoNodes }, 'faults.CAMERA_NO_VIDEO_NODE', { device: device.name }));
    }
    const shouldCapture = CAPTURING_KINDS.has(device.kind) || (device.kind === 'camera' && hasAudioStreaming);
    if (!shouldCapture) continue;
    const captureCards = audioCards.filter((card) => card.capture);
    if (captureCards.length === 0) {
      faults.push(condition('MICROPHONE_NO_CAPTURE', device, 'media', { device: deviceEvidence(device), audioCards }, 'faults.MICROPHONE_NO_CAPTURE', { device: device.name }));
    } else if (captureCards.every((card) => card.captureMuted === true)) {
      faults.push(condition('MICROPHONE_MUTED', device, 'media', { device: deviceEvidence(device), audioCards: captureCards }, 'faults.MICROPHONE_MUTED', { device: device.name }));
    }
  }
  return faults;
};

export const viscaCameraFaults: FaultRule = (snapshot) => {
  const faults: FaultCondition[] = [];
  for (const device of snapshot.devices) {
    const { connection } = device;
    if ((connection.type !== 'serial' && connection.type !== 'network') || connection.protocol !== 'visca') continue;
    const source = connection.type === 'serial' ? 'serial' : 'visca-ip';
    const place = connection.type === 'serial' ? connection.path : `${connection.host}:${connection.port}${connection.framing ? ` (${connection.framing})` : ''}`;
    if (device.visca?.power === 'power-error') {
      faults.push(condition('VISCA_POWER_ERROR', device, source, { device: deviceEvidence(device), visca: device.visca }, 'faults.VISCA_POWER_ERROR', { device: device.name }));
    } else if (device.status === 'unreachable') {
      const evidence = { device: deviceEvidence(device), error: device.error, ...(device.visca?.framingAttempts ? { framingAttempts: device.visca.framingAttempts } : {}) };
      faults.push(condition('VISCA_NOT_ANSWERING', device, source, evidence, 'faults.VISCA_NOT_ANSWERING', { device: device.name, place, reason: device.error?.message ?? 'no reply', ...reasonCode(device) }));
    }
  }
  return faults;
};

const PJLINK_PARTS = ['fan', 'lamp', 'temperature', 'cover', 'filter', 'other'] as const;
const QUIET_POWER_STATES = new Set<PjlinkInfo['power']>(['standby', 'cooling']);

export const projectorFaults: FaultRule = (snapshot, context) => {
  const faults: FaultCondition[] = [];
  for (const device of snapshot.devices) {
    if (device.connection.type !== 'network' || device.connection.protocol !== 'pjlink') continue;
    if (device.status === 'unreachable') {
      // Silence, refusal, a rejected password and a garbled answer are four outcomes, each its own fault.
      if (device.error?.code === 'PJLINK_AUTH_FAILED') {
        faults.push(condition('PJLINK_AUTH_FAILED', device, 'pjlink', { device: deviceEvidence(device), error: device.error }, 'faults.PJLINK_AUTH_FAILED', { device: device.name }));
        continue;
      }
      if (device.error?.code === 'PJLINK_REFUSED') {
        const place = `${device.connection.host}:${device.connection.port}`;
        faults.push(condition('PJLINK_REFUSED', device, 'pjlink', { device: deviceEvidence(device), error: device.error }, 'faults.PJLINK_REFUSED', { device: device.name, place, reason: device.error.message, ...reasonCode(device) }));
        continue;
      }
      if (device.error?.code === 'PJLINK_PROTOCOL_ERROR') {
        faults.push(condition('PJLINK_BAD_REPLY', device, 'pjlink', { device: deviceEvidence(device), error: device.error }, 'faults.PJLINK_BAD_REPLY.error', { device: device.name, reason: device.error.message, ...reasonCode(device) }));
        continue;
      }
      // Projectors in eco-standby stop answering PJLink (shared/domain.md): silence after a
      // standby answer is the projector sleeping, not a fault.
      const last = context.lastPjlinkAnswer.get(device.id);
      if (last && QUIET_POWER_STATES.has(last.power)) continue;
      const evidence = { device: deviceEvidence(device), error: device.error, lastAnswer: last ?? null };
      const place = `${device.connection.host}:${device.connection.port}`;
      faults.push(condition('PJLINK_NOT_ANSWERING', device, 'pjlink', evidence, 'faults.PJLINK_NOT_ANSWERING', { device: device.name, place, reason: device.error?.message ?? 'no reply', ...reasonCode(device) }));
      continue;
    }
    const info = device.pjlink;
    if (!info) continue;
    if (info.badReplies !== undefined && info.badReplies.length > 0) {
      const quoted = info.badReplies.map((bad) => `${bad.command} -> ${JSON.stringify(bad.raw)}`).join(', ');
      faults.push(condition('PJLINK_BAD_REPLY', device, 'pjlink', { device: deviceEvidence(device), badReplies: info.badReplies }, 'faults.PJLINK_BAD_REPLY.replies', { device: device.name, replies: quoted }));
    }
    for (const part of PJLINK_PARTS) {
      const level = info.errors[part];
      if (level === 'ok') continue;
      const code = pjlinkFaultCode(part, level);
      faults.push(condition(code, device, 'pjlink', { device: deviceEvidence(device), errors: info.errors, power: info.power }, `faults.${code}`, { device: device.name }));
    }
    faults.push(...lampEndOfLife(device, info, context.config));
  }
  return faults;
};

/** Predictive: a lamp near its rated life is replaced before it fails in a lesson. */
function lampEndOfLife(device: Device, info: PjlinkInfo, config: AgentConfig): FaultCondition[] {
  if (device.connection.type !== 'network') return [];
  const { host, port } = device.connection;
  const target = config.pjlink.find((t) => t.host === host && t.port === port);
  const lifeHours = target?.lampLifeHours ?? 3000;
  const limit = (lifeHours * config.thresholds.lampLifeWarnPercent) / 100;
  const worn = info.lamps.map((lamp, index) => ({ lamp: index + 1, hours: lamp.hours })).filter((lamp) => lamp.hours >= limit);
  if (worn.length === 0) return [];
  // Numbers only, so the sentence around them can be in any language.
  const lamps = worn.map((lamp) => `${lamp.lamp} (${lamp.hours} h)`).join(', ');
  const evidence = { device: deviceEvidence(device), lamps: info.lamps, lampLifeHours: lifeHours, warnAtHours: limit };
  return [condition('LAMP_END_OF_LIFE', device, 'pjlink', evidence, 'faults.LAMP_END_OF_LIFE', { device: device.name, lamps, lifeHours })];
}

/** A touch frame the kernel took no input from: plugged in, lit, and dead to every finger. */
export const touchNoInput: FaultRule = (snapshot) => {
  const faults: FaultCondition[] = [];
  for (const device of snapshot.devices) {
    const touch = device.touch;
    if (device.kind !== 'touch-panel' || !touch) continue;
    const reason = touch.driver === null ? 'no driver took the device' : touch.inputDevices.length === 0 ? `the ${touch.driver} driver made no input device of it` : null;
    if (reason === null) continue;
    faults.push(condition('TOUCH_NO_INPUT', device, 'media', { device: deviceEvidence(device), touch, reason }, 'faults.TOUCH_NO_INPUT', { device: device.name }));
  }
  return faults;
};

/**
 * A device that keeps dropping off USB and coming back: a loose cable, for any kind of device.
 * It is keyed on the device there now at that port, or on the port itself while it is away.
 */
export const unstableConnection: FaultRule = (snapshot, { config, connectionEvents }) => {
  if (!connectionEvents || connectionEvents.length === 0) return [];
  const found = unstableConnections(connectionEvents, snapshot.at.getTime(), { threshold: config.thresholds.unstableDisconnects, windowMs: config.thresholds.unstableWindowMinutes * 60_000 });
  return found.map((unstable) => {
    const device = snapshot.devices.find((candidate) => candidate.connection.type === 'usb' && candidate.connection.portPath === unstable.port) ?? null;
    const name = device?.name ?? unstable.label ?? `USB device at port ${unstable.port}`;
    const evidence = { ...(device ? { device: deviceEvidence(device) } : {}), ...unstable };
    const fault = condition('DEVICE_UNSTABLE_CONNECTION', device, 'usb', evidence, 'faults.DEVICE_UNSTABLE_CONNECTION', { device: name, count: unstable.disconnects, minutes: unstable.windowMinutes, port: unstable.port });
    return device ? fault : { ...fault, deviceId: `usb-port:${unstable.port}` };
  });
};

export const diskNearlyFull: FaultRule = (snapshot, { config }) => {
  const full = (snapshot.system?.disks ?? []).filter((disk) => disk.usePercent >= config.thresholds.diskUsePercent);
  if (full.length === 0) return [];
  const list = full.map((disk) => `${disk.mount} ${disk.usePercent.toFixed(0)}%`).join(', ');
  return [condition('DISK_NEARLY_FULL', null, 'system', { disks: full }, 'faults.DISK_NEARLY_FULL', { disks: list, threshold: config.thresholds.diskUsePercent })];
};

/** "Sustained" comes from the tracker: this code needs cpuSustainedCycles cycles in a row. */
export const cpuHigh: FaultRule = (snapshot, { config }) => {
  const cpu = snapshot.system?.cpu;
  if (!cpu || cpu.loadPercent < config.thresholds.cpuLoadPercent) return [];
  return [condition('CPU_SUSTAINED_HIGH', null, 'system', { cpu }, 'faults.CPU_SUSTAINED_HIGH', { load: cpu.loadPercent.toFixed(0), threshold: config.thresholds.cpuLoadPercent })];
};

export const FAULT_RULES: readonly FaultRule[] = [expectedDeviceMissing, deviceUnusable, touchNoInput, unstableConnection, viscaCameraFaults, projectorFaults, vrHeadsetFaults, vrControllerUnstable, vrAppVersionMismatch, windowsDeviceProblems, windowsPrivacyBlocks, windowsCameraHeld, windowsRecordingSilenced, diskNearlyFull, cpuHigh];

export function evaluateFaults(snapshot: CycleSnapshot, context: RuleContext, rules: readonly FaultRule[] = FAULT_RULES): FaultCondition[] {
  return rules.flatMap((rule) => rule(snapshot, context));
}

/** The device error's code beside its English reason, so a reader in another language gets the agent's own sentence for it. */
function reasonCode(device: Device): { reasonCode?: string } {
  return device.error ? { reasonCode: device.error.code } : {};
}
