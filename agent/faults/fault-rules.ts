import { FAULT_CODES, pjlinkFaultCode, type Device, type FaultCode, type PjlinkInfo } from '../../protocol/index.js';
import type { AgentConfig } from '../config.js';
import { expectationId, findMissing, type Expectation } from './expected-devices.js';
import type { CycleSnapshot, FaultCondition } from './fault-condition.js';

export interface RuleContext {
  config: AgentConfig;
  expectations: readonly Expectation[];
  /** The last PJLink answer each projector gave, to tell eco-standby silence from a dead projector. */
  lastPjlinkAnswer: ReadonlyMap<string, PjlinkInfo>;
}

/** A rule is a pure function from what a cycle saw to the faults it shows. */
export type FaultRule = (snapshot: CycleSnapshot, context: RuleContext) => FaultCondition[];

function condition(code: FaultCode, device: Device | null, source: FaultCondition['source'], message: string, evidence: Record<string, unknown>): FaultCondition {
  return { code, deviceId: device?.id ?? null, source, message, evidence };
}

/** Only what identifies a device goes into evidence, so a fault stays small and readable. */
function deviceEvidence(device: Device): Record<string, unknown> {
  const evidence: Record<string, unknown> = { id: device.id, kind: device.kind, name: device.name, connection: device.connection, status: device.status };
  if (device.make) evidence.make = device.make;
  if (device.model) evidence.model = device.model;
  if (device.serialNumber) evidence.serialNumber = device.serialNumber;
  if (device.usb) evidence.usb = { vendorId: device.usb.vendorId, productId: device.usb.productId, interfaces: device.usb.interfaces };
  return evidence;
}

export const expectedDeviceMissing: FaultRule = (snapshot, { expectations }) => {
  const missing = findMissing(expectations, snapshot.devices);
  const seenIds = new Map<string, number>();
  return missing.map((expectation) => {
    const base = expectationId(expectation);
    const count = (seenIds.get(base) ?? 0) + 1;
    seenIds.set(base, count);
    const id = count === 1 ? base : `${base}#${count}`;
    const since = expectation.origin === 'learned' && expectation.lastSeenAt ? ` (last seen ${expectation.lastSeenAt})` : '';
    return {
      code: 'DEVICE_MISSING',
      deviceId: id,
      source: expectation.source,
      message: `${expectation.label} is missing: expected ${expectation.origin === 'config' ? 'by the configuration' : 'because this room had it'}${since}`,
      evidence: { expected: expectation, presentOfKind: snapshot.devices.filter((d) => d.kind === expectation.kind).map((d) => d.id) },
    };
  });
};

const VIDEO_CLASS = 0x0e;
const AUDIO_CLASS = 0x01;
const AUDIO_STREAMING = 0x02;
const CAPTURING_KINDS = new Set(['microphone', 'speakerphone', 'headset']);

/** Media nodes are only known where the OS exposes them; without that nothing can be concluded. */
export const deviceUnusable: FaultRule = (snapshot) => {
  const faults: FaultCondition[] = [];
  for (const device of snapshot.devices) {
    if (!device.usb || !device.media) continue;
    const hasVideo = device.usb.interfaces.some((i) => i.class === VIDEO_CLASS);
    const hasAudioStreaming = device.usb.interfaces.some((i) => i.class === AUDIO_CLASS && i.subClass === AUDIO_STREAMING);
    const { videoNodes, audioCards } = device.media;
    if ((device.kind === 'camera' || device.kind === 'capture-card') && hasVideo && !videoNodes.some((node) => node.canCapture)) {
      faults.push(condition('CAMERA_NO_VIDEO_NODE', device, 'media', `${device.name} is on USB but has no usable video node: the driver did not bind or the camera failed to start`, {
        device: deviceEvidence(device),
        videoNodes,
      }));
    }
    const shouldCapture = CAPTURING_KINDS.has(device.kind) || (device.kind === 'camera' && hasAudioStreaming);
    if (!shouldCapture) continue;
    const captureCards = audioCards.filter((card) => card.capture);
    if (captureCards.length === 0) {
      faults.push(condition('MICROPHONE_NO_CAPTURE', device, 'media', `${device.name} is present but the system has no capture device for it`, {
        device: deviceEvidence(device),
        audioCards,
      }));
    } else if (captureCards.every((card) => card.captureMuted === true)) {
      faults.push(condition('MICROPHONE_MUTED', device, 'media', `${device.name}: microphone capture is muted`, { device: deviceEvidence(device), audioCards: captureCards }));
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
      faults.push(condition('VISCA_POWER_ERROR', device, source, `${device.name} reports a power-circuit error`, { device: deviceEvidence(device), visca: device.visca }));
    } else if (device.status === 'unreachable') {
      faults.push(condition('VISCA_NOT_ANSWERING', device, source, `${device.name} does not answer on ${place}: ${device.error?.message ?? 'no reply'}`, {
        device: deviceEvidence(device),
        error: device.error,
        ...(device.visca?.framingAttempts ? { framingAttempts: device.visca.framingAttempts } : {}),
      }));
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
        faults.push(condition('PJLINK_AUTH_FAILED', device, 'pjlink', `${device.name} rejected the configured PJLink password`, { device: deviceEvidence(device), error: device.error }));
        continue;
      }
      if (device.error?.code === 'PJLINK_REFUSED') {
        faults.push(condition('PJLINK_REFUSED', device, 'pjlink', `${device.name} refuses PJLink connections at ${device.connection.host}:${device.connection.port}: ${device.error.message}`, { device: deviceEvidence(device), error: device.error }));
        continue;
      }
      if (device.error?.code === 'PJLINK_PROTOCOL_ERROR') {
        faults.push(condition('PJLINK_BAD_REPLY', device, 'pjlink', `${device.name} answers PJLink with something unexpected: ${device.error.message}`, { device: deviceEvidence(device), error: device.error }));
        continue;
      }
      // Projectors in eco-standby stop answering PJLink (shared/domain.md): silence after a
      // standby answer is the projector sleeping, not a fault.
      const last = context.lastPjlinkAnswer.get(device.id);
      if (last && QUIET_POWER_STATES.has(last.power)) continue;
      faults.push(condition('PJLINK_NOT_ANSWERING', device, 'pjlink', `${device.name} does not answer PJLink at ${device.connection.host}:${device.connection.port}: ${device.error?.message ?? 'no reply'}`, {
        device: deviceEvidence(device),
        error: device.error,
        lastAnswer: last ?? null,
      }));
      continue;
    }
    const info = device.pjlink;
    if (!info) continue;
    if (info.badReplies !== undefined && info.badReplies.length > 0) {
      const quoted = info.badReplies.map((bad) => `${bad.command} -> ${JSON.stringify(bad.raw)}`).join(', ');
      faults.push(condition('PJLINK_BAD_REPLY', device, 'pjlink', `${device.name} answered PJLink with something unexpected: ${quoted}`, { device: deviceEvidence(device), badReplies: info.badReplies }));
    }
    for (const part of PJLINK_PARTS) {
      const level = info.errors[part];
      if (level === 'ok') continue;
      const code = pjlinkFaultCode(part, level);
      faults.push(condition(code, device, 'pjlink', `${device.name}: ${FAULT_CODES[code].title.toLowerCase()}`, { device: deviceEvidence(device), errors: info.errors, power: info.power }));
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
  const list = worn.map((lamp) => `lamp ${lamp.lamp} at ${lamp.hours} h`).join(', ');
  return [condition('LAMP_END_OF_LIFE', device, 'pjlink', `${device.name}: ${list} of ${lifeHours} h rated life; plan a replacement`, {
    device: deviceEvidence(device),
    lamps: info.lamps,
    lampLifeHours: lifeHours,
    warnAtHours: limit,
  })];
}

export const diskNearlyFull: FaultRule = (snapshot, { config }) => {
  const full = (snapshot.system?.disks ?? []).filter((disk) => disk.usePercent >= config.thresholds.diskUsePercent);
  if (full.length === 0) return [];
  const list = full.map((disk) => `${disk.mount} ${disk.usePercent.toFixed(0)}%`).join(', ');
  return [condition('DISK_NEARLY_FULL', null, 'system', `Disk nearly full: ${list} (threshold ${config.thresholds.diskUsePercent}%)`, { disks: full })];
};

/** "Sustained" comes from the tracker: this code needs cpuSustainedCycles cycles in a row. */
export const cpuHigh: FaultRule = (snapshot, { config }) => {
  const cpu = snapshot.system?.cpu;
  if (!cpu || cpu.loadPercent < config.thresholds.cpuLoadPercent) return [];
  return [condition('CPU_SUSTAINED_HIGH', null, 'system', `CPU load ${cpu.loadPercent.toFixed(0)}% (threshold ${config.thresholds.cpuLoadPercent}%)`, { cpu })];
};

export const FAULT_RULES: readonly FaultRule[] = [expectedDeviceMissing, deviceUnusable, viscaCameraFaults, projectorFaults, diskNearlyFull, cpuHigh];

export function evaluateFaults(snapshot: CycleSnapshot, context: RuleContext, rules: readonly FaultRule[] = FAULT_RULES): FaultCondition[] {
  return rules.flatMap((rule) => rule(snapshot, context));
}
