import { z } from 'zod';
import type { Device, ProbeSource, SourceStatus, SystemSnapshot, MediaInfo } from '../../protocol/index.js';
import { AvcareError, deviceSchema, isAvcareError, mediaInfoSchema, mediaPrivacySchema, recordingEndpointSchema, systemSnapshotSchema, touchInfoSchema, type ErrorCode, type MediaPrivacy, type RecordingEndpoint } from '../../protocol/index.js';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../../protocol/log.js';
import type { TouchNode } from '../touch/touch-nodes.js';

export interface ProbeContext {
  readonly config: AgentConfig;
  readonly log: Logger;
}

/** What one probe found. `media` is OS media nodes, matched to USB devices after the cycle. */
export interface ProbeFindings {
  state: 'ok' | 'unavailable';
  /** Why the source is unavailable (no USB bus, no ALSA), for a person to read. */
  reason?: string;
  /** The same reason as a catalog key and parameters, so it is read in the reader's language. */
  reasonKey?: string;
  reasonParams?: Record<string, string | number>;
  devices: Device[];
  system?: SystemSnapshot;
  media?: MediaInfo;
  /** The USB HID devices the OS knows, matched to USB devices after the cycle (touch panels). */
  touch?: TouchNode[];
  /** Windows' camera and microphone privacy switches (the Windows media source). */
  privacy?: MediaPrivacy;
  /** Windows' default recording devices with their mute and level (the Windows media source). */
  recording?: RecordingEndpoint[];
}

export interface Probe {
  readonly id: ProbeSource;
  /** A probe that needs longer than the configured probe timeout (a cart of headsets) says how long. */
  timeoutMs?(config: AgentConfig): number;
  /** Must honour `signal`: the runner aborts it at the timeout and moves on. */
  run(context: ProbeContext, signal: AbortSignal): Promise<ProbeFindings>;
}

/** Every probe's result schema: what it returns must be fit to send, or the cycle reports the probe as failed. */
export const probeFindingsSchema = z.object({
  state: z.enum(['ok', 'unavailable']),
  reason: z.string().optional(),
  /** The reason as a catalog key (agent/i18n sourceReason.*) with its parameters, for people reading in Chinese. */
  reasonKey: z.string().max(64).optional(),
  reasonParams: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  devices: z.array(deviceSchema),
  system: systemSnapshotSchema.optional(),
  media: mediaInfoSchema.optional(),
  touch: z
    .array(z.object({ vendorId: z.number().int().min(0).max(0xffff), productId: z.number().int().min(0).max(0xffff), usbPort: z.string().max(64).optional(), name: z.string().max(256), touch: touchInfoSchema }))
    .max(64)
    .optional(),
  privacy: mediaPrivacySchema.optional(),
  recording: z.array(recordingEndpointSchema).max(4).optional(),
});

export interface ProbeResult {
  status: SourceStatus;
  findings: ProbeFindings;
}

/**
 * Runs one probe under a timeout and turns every failure into a result with an error code, so
 * one failing probe never stops a cycle. `signal` lets the caller end it sooner (a remediation
 * whose time is up, an agent stopping); that too becomes a result, with the signal's reason.
 */
export async function runProbe(probe: Probe, context: ProbeContext, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onCallerAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    const stop = (error: Error): void => {
      // Reject before aborting: a probe that returns at once on abort must still count as stopped.
      reject(error);
      controller.abort(error);
    };
    timer = setTimeout(() => stop(new AvcareError('PROBE_TIMEOUT', `${probe.id} probe did not finish within ${timeoutMs} ms`, { probe: probe.id, timeoutMs })), timeoutMs);
    onCallerAbort = () => stop(callerReason(probe.id, signal));
    if (signal?.aborted) onCallerAbort();
    else signal?.addEventListener('abort', onCallerAbort, { once: true });
  });
  try {
    const findings = checkFindings(probe.id, await Promise.race([probe.run(context, controller.signal), timeout]));
    const status: SourceStatus = { source: probe.id, state: findings.state, durationMs: elapsed(started) };
    if (findings.reason !== undefined) status.reason = findings.reason;
    if (findings.reasonKey !== undefined) status.reasonKey = findings.reasonKey;
    if (findings.reasonParams !== undefined) status.reasonParams = findings.reasonParams;
    return { status, findings };
  } catch (error) {
    const code: ErrorCode = isAvcareError(error) ? error.code : 'PROBE_FAILED';
    const reason = error instanceof Error ? error.message : String(error);
    context.log.warn({ probe: probe.id, code, err: error }, 'probe failed');
    const timedOut = isAvcareError(error) && error.code === 'PROBE_TIMEOUT' && typeof error.context.timeoutMs === 'number';
    const reasonKey = timedOut ? { reasonKey: 'sourceReason.timeout', reasonParams: { seconds: Math.round(Number(error.context.timeoutMs) / 100) / 10 } } : { reasonKey: 'sourceReason.failed', reasonParams: { detail: reason } };
    return {
      status: { source: probe.id, state: 'error', errorCode: code, reason, ...reasonKey, durationMs: elapsed(started) },
      findings: { state: 'ok', devices: [] },
    };
  } finally {
    clearTimeout(timer);
    if (onCallerAbort) signal?.removeEventListener('abort', onCallerAbort);
  }
}

/** A caller's AvcareError says why (time used up, agent stopping); any other reason is a plain cancel. */
function callerReason(source: ProbeSource, signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (isAvcareError(reason)) return reason;
  return new AvcareError('PROBE_TIMEOUT', `${source} probe was cancelled`, { probe: source }, { cause: reason });
}

function checkFindings(source: ProbeSource, findings: ProbeFindings): ProbeFindings {
  const checked = probeFindingsSchema.safeParse(findings);
  if (checked.success) return findings;
  const problems = checked.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new AvcareError('PROBE_FAILED', `${source} probe returned data that does not fit the protocol (${problems.join('; ')})`, { source, problems });
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
