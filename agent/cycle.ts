import type { MediaInfo } from '../protocol/index.js';
import type { CycleSnapshot } from './faults/fault-condition.js';
import { attachMediaToUsb, unmatchedMedia } from './probes/media-match.js';
import { runProbe, type Probe, type ProbeContext } from './probes/probe.js';
import { refineAudioKindWithMedia } from './probes/usb-classify.js';
import { attachTouchToUsb } from './touch/touch-match.js';
import { attachHeadsetsToUsb } from './vr/headset-match.js';

export interface CycleResult extends CycleSnapshot {
  /** OS media nodes no USB device claimed (built-in webcams, HDMI audio): kept so nothing is lost. */
  unmatchedMedia?: MediaInfo;
}

export interface CycleOptions {
  now?: () => Date;
  /** Ends every probe early (each still reports, as an error with the signal's reason). */
  signal?: AbortSignal;
}

/** One probe cycle: every probe in parallel, each under its own timeout, then media and touch nodes matched to USB devices. */
export async function runProbeCycle(probes: readonly Probe[], context: ProbeContext, options: CycleOptions = {}): Promise<CycleResult> {
  const { now = () => new Date(), signal } = options;
  const timeoutMs = context.config.probeTimeoutSeconds * 1000;
  const results = await Promise.all(probes.map((probe) => runProbe(probe, context, probe.timeoutMs?.(context.config) ?? timeoutMs, signal)));
  let devices = results.flatMap((result) => result.findings.devices);
  const cycle: CycleResult = { at: now(), devices, sources: results.map((result) => result.status) };
  const system = results.find((result) => result.findings.system)?.findings.system;
  if (system) cycle.system = system;
  const media = results.find((result) => result.findings.media)?.findings.media;
  if (media) {
    devices = attachMediaToUsb(devices, media).map(refineAudioKindWithMedia);
    cycle.devices = devices;
    cycle.unmatchedMedia = unmatchedMedia(devices, media);
  }
  const privacy = results.find((result) => result.findings.privacy)?.findings.privacy;
  if (privacy) cycle.privacy = privacy;
  const recording = results.find((result) => result.findings.recording)?.findings.recording;
  if (recording) cycle.recording = recording;
  const touch = results.find((result) => result.findings.touch)?.findings.touch;
  if (touch) cycle.devices = attachTouchToUsb(cycle.devices, touch);
  if (results.some((result) => result.status.source === 'adb' && result.findings.devices.length > 0)) cycle.devices = attachHeadsetsToUsb(cycle.devices);
  return cycle;
}
