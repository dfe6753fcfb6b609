import {
  AvcareError,
  jsonBytes,
  REPORT_LIMITS,
  REPORT_MAX_BYTES,
  untrustedMultiline,
  untrustedText,
  type Device,
  type OpenFault,
  type ReportBundle,
  type ReportMessage,
} from '../protocol/index.js';
import type { DaemonState } from './daemon-state.js';
import { healthSummary } from './health-summary.js';
import type { CycleSnapshot, FaultCondition } from './faults/fault-condition.js';
import { REPORT_STRINGS } from './report-strings.js';
import { scrubKnownSecretsDeep, scrubSecrets } from './scrub-secrets.js';

export interface ReportInput {
  text: string;
  reporter?: string;
  deviceId?: string;
}

/**
 * The person's words as typed on the command line: the arguments joined by spaces (so quotes are
 * optional), line breaks kept (as plain newlines), terminal escapes, bidi controls and Unicode line
 * and paragraph separators removed, trimmed, and checked
 * against the protocol's bounds with an error that says what to change.
 */
export function reportInput(words: readonly string[], options: { by?: string | undefined; device?: string | undefined; defaultReporter?: string | undefined }): ReportInput {
  const text = untrustedMultiline(words.join(' '), Number.MAX_SAFE_INTEGER) ?? '';
  if (text.length === 0) throw new AvcareError('REPORT_INVALID', REPORT_STRINGS.textEmpty(), { field: 'text' });
  if (text.length > REPORT_LIMITS.textChars) throw new AvcareError('REPORT_INVALID', REPORT_STRINGS.textTooLong(text.length, REPORT_LIMITS.textChars), { field: 'text', chars: text.length });
  const input: ReportInput = { text };
  if (options.by !== undefined) {
    const by = untrustedText(options.by, Number.MAX_SAFE_INTEGER);
    if (by === undefined || by.length > REPORT_LIMITS.reporterChars) throw new AvcareError('REPORT_INVALID', REPORT_STRINGS.reporterInvalid(REPORT_LIMITS.reporterChars), { field: 'reporter' });
    input.reporter = by;
  } else if (options.defaultReporter !== undefined) {
    // The OS user name is a fallback, never a reason to refuse the report.
    const fallback = untrustedText(options.defaultReporter, REPORT_LIMITS.reporterChars);
    if (fallback !== undefined) input.reporter = fallback;
  }
  if (options.device !== undefined) {
    const device = options.device.trim();
    if (device.length === 0 || device.length > 320 || untrustedText(device, 320) !== device) throw new AvcareError('REPORT_INVALID', REPORT_STRINGS.deviceInvalid(320), { field: 'deviceId' });
    input.deviceId = device;
  }
  return input;
}

export interface BundleFacts {
  /** The report's own probe cycle. */
  cycle: CycleSnapshot;
  /** Faults that cycle shows, before hysteresis. */
  detected: readonly FaultCondition[];
  /** The daemon-state file, whether or not its daemon still runs (its health history still tells). */
  daemon: DaemonState | undefined;
  daemonRunning: boolean;
  logLines: readonly string[];
  knownSecrets: readonly string[];
  /** The device the person named: kept first in the inventory so shrinking never drops it. */
  deviceId?: string | undefined;
}

/**
 * The diagnostic bundle: this cycle's devices, sources and system; the daemon's health history
 * plus the sample just taken; the faults the running daemon holds (or, with no daemon, what this
 * cycle shows); and the recent log. Every string in it is scrubbed of the configured secrets,
 * whatever field it ended up in.
 */
export function buildReportBundle(facts: BundleFacts): ReportBundle {
  const { cycle, daemon, knownSecrets } = facts;
  const health = [...(daemon?.recentHealth ?? [])];
  if (cycle.system) health.push(healthSummary(cycle.system, cycle.at));
  const openFaults: OpenFault[] =
    facts.daemonRunning && daemon
      ? daemon.openFaults
      : facts.detected.map((condition) => ({ code: condition.code, deviceId: condition.deviceId, message: condition.message.slice(0, 2000) }));
  const logExcerpt = facts.logLines.flatMap((line) => untrustedText(scrubSecrets(line, knownSecrets), REPORT_LIMITS.logLineChars) ?? []);
  const bundle: ReportBundle = {
    inventory: namedFirst(cycle.devices, facts.deviceId).slice(0, REPORT_LIMITS.inventoryDevices),
    sources: cycle.sources.slice(0, 16),
    system: cycle.system ?? null,
    recentHealth: health.slice(-REPORT_LIMITS.recentHealth),
    openFaults: openFaults.slice(0, REPORT_LIMITS.openFaults),
    faultsFrom: facts.daemonRunning && daemon ? 'daemon' : 'probe',
    logExcerpt: logExcerpt.slice(-REPORT_LIMITS.logLines),
    truncated: cycle.devices.length > REPORT_LIMITS.inventoryDevices || openFaults.length > REPORT_LIMITS.openFaults,
  };
  return scrubKnownSecretsDeep(bundle, knownSecrets);
}

function namedFirst(devices: readonly Device[], deviceId: string | undefined): Device[] {
  const named = devices.filter((device) => device.id === deviceId);
  return [...named, ...devices.filter((device) => device.id !== deviceId)];
}

/** Ways to make a bundle smaller, least valuable evidence first; each returns undefined when it has nothing left to give. */
const SHRINK_STEPS: ReadonlyArray<(bundle: ReportBundle) => ReportBundle | undefined> = [
  (b) => (b.logExcerpt.length > 10 ? { ...b, logExcerpt: b.logExcerpt.slice(-Math.floor(b.logExcerpt.length / 2)) } : undefined),
  (b) => (b.recentHealth.length > 1 ? { ...b, recentHealth: b.recentHealth.slice(-1) } : undefined),
  (b) => (b.inventory.some((device) => device.media || (device.usb && device.usb.interfaces.length > 0)) ? { ...b, inventory: b.inventory.map(slimDevice) } : undefined),
  (b) => (b.system && (b.system.network.length > 4 || b.system.disks.length > 4) ? { ...b, system: { ...b.system, network: b.system.network.slice(0, 4), disks: b.system.disks.slice(0, 4) } } : undefined),
  (b) => (b.inventory.length > 1 ? { ...b, inventory: b.inventory.slice(0, Math.ceil(b.inventory.length / 2)) } : undefined),
  (b) => (b.logExcerpt.length > 0 ? { ...b, logExcerpt: [] } : undefined),
  (b) => (b.openFaults.length > 8 ? { ...b, openFaults: b.openFaults.slice(0, 8) } : undefined),
];

/** The parts of a device an engineer can do without: interface lists and OS media nodes. */
function slimDevice(device: Device): Device {
  const { media: _media, ...rest } = device;
  return rest.usb ? { ...rest, usb: { ...rest.usb, interfaces: [] } } : rest;
}

/**
 * Shrinks the bundle until the message fits under maxBytes as JSON, marking it truncated; a
 * normal room never needs it. Throws if even the smallest bundle does not fit (it always does:
 * the text is at most 2000 characters).
 */
export function fitReport(message: ReportMessage, maxBytes: number = REPORT_MAX_BYTES): ReportMessage {
  // A seq is added by the outbox later: count it now.
  const bundle = fitBundle(message.bundle, maxBytes, (candidate) => jsonBytes({ ...message, bundle: candidate, seq: Number.MAX_SAFE_INTEGER }));
  return bundle === message.bundle ? message : { ...message, bundle };
}

/** Shrinks a bundle until `size` of it is at most maxBytes, least valuable evidence first, marking it truncated. */
export function fitBundle(bundle: ReportBundle, maxBytes: number, size: (bundle: ReportBundle) => number = jsonBytes): ReportBundle {
  let fitted = bundle;
  while (size(fitted) > maxBytes) {
    const smaller = SHRINK_STEPS.reduce<ReportBundle | undefined>((found, step) => found ?? step(fitted), undefined);
    if (!smaller) throw new AvcareError('REPORT_INVALID', `the report does not fit in ${maxBytes} bytes even without its diagnostic bundle`, { bytes: size(fitted) });
    fitted = { ...smaller, truncated: true };
  }
  return fitted;
}
