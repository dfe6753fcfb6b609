/**
 * What the agent tries before it raises a fault, decided without touching a device: which fix
 * fits which fault, whether it may run now, and, once the device has been probed again, whether
 * it worked. The remediator (remediator.ts) does the I/O.
 */
import type { Device, FaultCode, ProbeSource } from '../../protocol/index.js';
import type { AgentConfig } from '../config.js';
import type { ViscaIpReinitTarget } from './visca-ip-reinit.js';
import { faultKey, isProbeSource, sourcesReadable, type CycleSnapshot, type FaultCondition } from '../faults/fault-condition.js';

export type RemediationName = 're-probe' | 'usb-reset' | 'visca-reinit' | 'pjlink-reconnect';

/** One thing the agent tried, in the shape the cloud reads from a fault's `evidence.actions`. */
export interface RemediationAction {
  action: RemediationName;
  /** When it started (ISO 8601). */
  at: string;
  /** For the engineer: what was done and what the device showed afterwards. */
  result: string;
}

/** The cloud keeps at most this many actions per fault. */
export const MAX_EVIDENCE_ACTIONS = 20;
const MAX_RESULT_CHARS = 500;

/** The obvious fix per fault code; codes not listed get none (a full disk is not fixed by a re-probe). */
const FIX_BY_CODE: Partial<Record<FaultCode, RemediationName>> = {
  VISCA_NOT_ANSWERING: 'visca-reinit',
  VISCA_POWER_ERROR: 'visca-reinit',
  PJLINK_NOT_ANSWERING: 'pjlink-reconnect',
  // The device is on the bus but unusable: a reset makes it enumerate and bind its drivers again.
  CAMERA_NO_VIDEO_NODE: 'usb-reset',
  MICROPHONE_NO_CAPTURE: 'usb-reset',
  // Nothing on the bus to reset: only look again.
  DEVICE_MISSING: 're-probe',
};

/** Which libusb device to reset; vendor and product guard against an address reused by another device since the cycle. */
export interface UsbResetTarget {
  busNumber: number;
  deviceAddress: number;
  vendorId: number;
  productId: number;
  /** sysfs name ("1-1.4"), for people reading the result. */
  port: string;
}

/** The fix itself. Every job ends with a re-probe, which decides whether it worked. */
export type RemediationStep =
  | { action: 're-probe' }
  | { action: 'usb-reset'; usb: UsbResetTarget }
  | { action: 'visca-reinit'; path: string; baudRate: number; addresses: number[] }
  | { action: 'visca-reinit'; ip: ViscaIpReinitTarget }
  | { action: 'pjlink-reconnect'; host: string; port: number };

/**
 * Lanes run side by side; jobs in one lane run one after another, because they probe the same
 * source again (a serial re-probe would find the port locked by a re-init still running).
 */
export type RemediationLane = 'usb' | 'serial' | 'pjlink' | 'visca-ip';

export interface RemediationJob {
  /** Faults whose fix has the same key share one job: a webcam with no video node and no capture is reset once. */
  key: string;
  lane: RemediationLane;
  step: RemediationStep;
  /** What to probe again afterwards, with the configuration narrowed to the one port or projector. */
  reprobe: { sources: ProbeSource[]; config: AgentConfig };
  conditions: FaultCondition[];
}

export type SkipReason = 'disabled' | 'no-remediation' | 'cooling-down';

export interface SkippedRemediation {
  condition: FaultCondition;
  reason: SkipReason;
  /** What was tried for this fault within the cooldown: the engineer should still see it. */
  earlier: RemediationAction[];
}

export interface RemediationPlan {
  jobs: RemediationJob[];
  skipped: SkippedRemediation[];
}

export interface PlanContext {
  config: AgentConfig;
  /** The cycle's devices: where the fault's device is connected. */
  devices: readonly Device[];
  history: RemediationHistory;
  now: Date;
}

/** Which fix each fault about to be raised gets now, grouped into jobs, and which get none and why. */
export function planRemediations(due: readonly FaultCondition[], context: PlanContext): RemediationPlan {
  const jobs = new Map<string, RemediationJob>();
  const skipped: SkippedRemediation[] = [];
  const { config, history, now } = context;
  for (const condition of due) {
    const earlier = history.earlier(condition, now);
    if (!config.remediation.enabled) {
      skipped.push({ condition, reason: 'disabled', earlier: [] });
      continue;
    }
    const fix = fixFor(condition, context);
    if (fix === undefined) {
      skipped.push({ condition, reason: 'no-remediation', earlier });
      continue;
    }
    if (history.recent(condition, fix.step.action, now) !== undefined) {
      skipped.push({ condition, reason: 'cooling-down', earlier });
      continue;
    }
    const job = jobs.get(fix.key);
    if (job) job.conditions.push(condition);
    else jobs.set(fix.key, { ...fix, conditions: [condition] });
  }
  return { jobs: [...jobs.values()], skipped };
}

type Fix = Omit<RemediationJob, 'conditions'>;

const USB_SOURCES: ProbeSource[] = ['usb', 'media'];

function fixFor(condition: FaultCondition, { config, devices }: PlanContext): Fix | undefined {
  const name = FIX_BY_CODE[condition.code];
  // A measurement's fault has no probe to re-run: a later test shows whether it is gone.
  if (!isProbeSource(condition.source)) return undefined;
  const source = condition.source;
  const device = devices.find((candidate) => candidate.id === condition.deviceId);
  switch (name) {
    case undefined:
      return undefined;
    case 're-probe':
      return reprobeOnly(source, config);
    case 'usb-reset': {
      const usb = device?.usb;
      if (device === undefined || usb === undefined) return reprobeOnly(source, config);
      const port = device.connection.type === 'usb' ? device.connection.portPath : `${usb.busNumber}-addr${usb.deviceAddress}`;
      return {
        key: `usb-reset:${device.id}`,
        lane: 'usb',
        step: { action: 'usb-reset', usb: { busNumber: usb.busNumber, deviceAddress: usb.deviceAddress, vendorId: usb.vendorId, productId: usb.productId, port } },
        reprobe: { sources: USB_SOURCES, config },
      };
    }
    case 'visca-reinit': {
      if (device?.connection.type === 'network') return viscaIpReinit(device, config);
      if (device?.connection.type !== 'serial') return undefined;
      const { path, baudRate } = device.connection;
      // Every camera configured on this port: a daisy chain shares one line and one re-init.
      const ports = config.serialPorts.filter((port) => port.path === path && port.protocol === 'visca');
      if (ports.length === 0) return undefined;
      return {
        key: `visca-reinit:${path}`,
        lane: 'serial',
        step: { action: 'visca-reinit', path, baudRate, addresses: ports.map((port) => port.address) },
        reprobe: { sources: ['serial'], config: { ...config, serialPorts: ports, discoverSerialPorts: false } },
      };
    }
    case 'pjlink-reconnect': {
      if (device?.connection.type !== 'network') return undefined;
      const { host, port } = device.connection;
      const target = config.pjlink.find((candidate) => candidate.host === host && candidate.port === port);
      if (target === undefined) return undefined;
      return { key: `pjlink-reconnect:${host}:${port}`, lane: 'pjlink', step: { action: 'pjlink-reconnect', host, port }, reprobe: { sources: ['pjlink'], config: { ...config, pjlink: [target] } } };
    }
  }
}

/** The framing is the one the probe used (found by "auto" or pinned): the re-init speaks it too. */
function viscaIpReinit(device: Device, config: AgentConfig): Fix | undefined {
  const { connection } = device;
  if (connection.type !== 'network' || connection.protocol !== 'visca' || connection.framing === undefined) return undefined;
  const address = device.visca?.address ?? 1;
  const target = config.viscaIp.find((candidate) => candidate.host === connection.host && candidate.address === address);
  if (target === undefined) return undefined;
  const { host, port, framing } = connection;
  return {
    key: `visca-reinit:${host}:${port}`,
    lane: 'visca-ip',
    step: { action: 'visca-reinit', ip: { host, port, framing, address } },
    reprobe: { sources: ['visca-ip'], config: { ...config, viscaIp: [target] } },
  };
}

function reprobeOnly(source: ProbeSource, config: AgentConfig): Fix | undefined {
  const lane = laneOf(source);
  if (lane === undefined) return undefined;
  return { key: `re-probe:${lane}`, lane, step: { action: 're-probe' }, reprobe: { sources: lane === 'usb' ? USB_SOURCES : [source], config } };
}

function laneOf(source: ProbeSource): RemediationLane | undefined {
  switch (source) {
    case 'usb':
    case 'media':
      return 'usb';
    case 'serial':
      return 'serial';
    case 'pjlink':
      return 'pjlink';
    case 'visca-ip':
      return 'visca-ip';
    case 'system':
      return undefined;
  }
}

export interface Verdict {
  fixed: boolean;
  /** Completes the action's result sentence. */
  text: string;
}

/**
 * Whether the fault is gone after the fix. Gone means the re-probe read the sources the fault is
 * read from and the rules no longer show it; a source that could not be read proves nothing, so
 * the fault is still raised.
 */
export function judgeReprobe(condition: FaultCondition, snapshot: CycleSnapshot, detected: readonly FaultCondition[]): Verdict {
  const readable = sourcesReadable(snapshot.sources);
  const unread = sourcesOf(condition).filter((source) => !readable.has(source));
  if (unread.length > 0) {
    const reasons = unread.map((source) => {
      const status = snapshot.sources.find((candidate) => candidate.source === source);
      return `${source}: ${status?.reason ?? (status ? status.state : 'not probed')}`;
    });
    return { fixed: false, text: `afterwards the device could not be read (${reasons.join('; ')}), so whether it helped is unknown` };
  }
  const key = faultKey(condition);
  const still = detected.find((candidate) => faultKey(candidate) === key);
  if (still !== undefined) return { fixed: false, text: `still failing afterwards: ${still.message}` };
  return { fixed: true, text: 'the fault was gone afterwards' };
}

/** A media fault is about a USB device's nodes: it takes both to see it, or to see it gone. */
function sourcesOf(condition: FaultCondition): ProbeSource[] {
  if (!isProbeSource(condition.source)) return [];
  return condition.source === 'media' ? USB_SOURCES : [condition.source];
}

/** One sentence: what was done, then what the re-probe showed; capped, since device text can be long. */
export function actionResult(done: string, verdict: Verdict): string {
  const sentence = `${done}; ${verdict.text}`;
  return sentence.length <= MAX_RESULT_CHARS ? sentence : `${sentence.slice(0, MAX_RESULT_CHARS - 1)}…`;
}

/** The condition as it is raised: its evidence says what was tried, newest last. */
export function withActions(condition: FaultCondition, actions: readonly RemediationAction[]): FaultCondition {
  if (actions.length === 0) return condition;
  return { ...condition, evidence: { ...condition.evidence, actions: actions.slice(-MAX_EVIDENCE_ACTIONS) } };
}

/**
 * What was tried for which fault, kept for the cooldown so that a device that stays broken is
 * not reset every cycle. In memory only: a restarted agent may try each fix once more.
 */
export class RemediationHistory {
  /** Fault key -> fix name -> when it ran and what came of it. */
  private readonly runs = new Map<string, Map<RemediationName, { atMs: number; action: RemediationAction }>>();

  constructor(private readonly cooldownMs: number) {}

  record(condition: FaultCondition, action: RemediationAction): void {
    const key = faultKey(condition);
    const forFault = this.runs.get(key) ?? new Map<RemediationName, { atMs: number; action: RemediationAction }>();
    forFault.set(action.action, { atMs: Date.parse(action.at), action });
    this.runs.set(key, forFault);
  }

  /** The same fix for the same fault within the cooldown, if any. */
  recent(condition: FaultCondition, name: RemediationName, now: Date): RemediationAction | undefined {
    this.prune(now);
    return this.runs.get(faultKey(condition))?.get(name)?.action;
  }

  /** Every fix tried for this fault within the cooldown, oldest first. */
  earlier(condition: FaultCondition, now: Date): RemediationAction[] {
    this.prune(now);
    const forFault = this.runs.get(faultKey(condition));
    if (forFault === undefined) return [];
    return [...forFault.values()].sort((a, b) => a.atMs - b.atMs).map((run) => run.action);
  }

  private prune(now: Date): void {
    for (const [key, forFault] of this.runs) {
      for (const [name, run] of forFault) if (now.getTime() - run.atMs >= this.cooldownMs) forFault.delete(name);
      if (forFault.size === 0) this.runs.delete(key);
    }
  }
}
