import type { Device, FaultCode, MediaPrivacy, ProbeSource, RecordingEndpoint, SourceStatus, SystemSnapshot } from '../../protocol/index.js';
import type { FaultMessageKey, ParamValue } from '../i18n/i18n.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';

/** Where a fault's evidence comes from: a probe source, or a measurement test (network, avsync). */
export type FaultSource = ProbeSource | MeasureTest;

export function isProbeSource(source: FaultSource): source is ProbeSource {
  return source !== 'network' && source !== 'avsync';
}

/** A fault seen in one cycle, before hysteresis decides whether it is raised. */
export interface FaultCondition {
  code: FaultCode;
  /** The inventory device it concerns; null for faults of the PC itself. */
  deviceId: string | null;
  /** The probe source whose data shows it: while that source cannot be read, the fault's state is kept. */
  source: FaultSource;
  /** In English, for the ticket and the log; `messageKey` and `params` render it in any language. */
  message: string;
  messageKey: FaultMessageKey;
  params: Record<string, ParamValue>;
  evidence: Record<string, unknown>;
}

export function faultKey(condition: Pick<FaultCondition, 'code' | 'deviceId'>): string {
  return `${condition.code}|${condition.deviceId ?? '-'}`;
}

/** What one probe cycle saw: the input of every fault rule. */
export interface CycleSnapshot {
  at: Date;
  devices: Device[];
  sources: SourceStatus[];
  system?: SystemSnapshot;
  /** Windows' camera and microphone privacy switches, where the PC (or a paste) tells them. */
  privacy?: MediaPrivacy;
  /** Windows' default recording devices, muted or at zero being the fault. */
  recording?: RecordingEndpoint[];
}

export function sourcesReadable(sources: readonly SourceStatus[]): Set<ProbeSource> {
  return new Set(sources.filter((status) => status.state === 'ok').map((status) => status.source));
}
