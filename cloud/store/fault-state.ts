import type { FaultMessage } from '../../protocol/index.js';

/** What the store keeps of one fault of one agent (keyed by code and device). */
export interface FaultRecord {
  readonly code: FaultMessage['code'];
  readonly deviceId: string | null;
  readonly state: FaultMessage['state'];
  readonly category: FaultMessage['category'];
  readonly severity: FaultMessage['severity'];
  readonly message: string;
  /** The agent's catalog key and parameters for `message`: a reader's language can render it later. */
  readonly messageKey?: string;
  readonly params?: Record<string, string | number>;
  readonly evidence: Record<string, unknown>;
  /** Epoch ms; when the agent first saw the condition of the current episode. */
  readonly firstSeenAt: number;
  /** Epoch ms of the raise that opened the current episode. */
  readonly raisedAt: number;
  /** Epoch ms of the newest event applied: anything older is late delivery and changes nothing. */
  readonly changedAt: number;
  /** The raise that opened the current episode: retention keeps it while the fault is open. */
  readonly eventId: string;
}

/**
 * The next state of one fault after one event, or `current` itself when the event changes
 * nothing. Events are ordered by the agent's `at`, not by arrival: after a reconnect the backlog
 * and the live stream interleave, and a clear must not be undone by an older raise (nor a raise
 * by an older clear). A raise while open updates the details but keeps when the episode began;
 * a raise after a clear starts a new episode.
 */
export function applyFaultEvent(current: FaultRecord | undefined, event: FaultMessage, at: number): FaultRecord | undefined {
  if (current && at <= current.changedAt) return current;
  const details = { category: event.category, severity: event.severity, message: event.message, ...messageText(event), evidence: event.evidence };
  if (event.state === 'cleared') {
    if (current) return { ...current, state: 'cleared', changedAt: at };
    // A tombstone, so that the raise this clear answers, if it arrives later, stays closed.
    return newEpisode(event, at, 'cleared');
  }
  if (current?.state === 'raised') return { ...current, ...details, changedAt: at };
  return newEpisode(event, at, 'raised');
}

function messageText(event: FaultMessage): Pick<FaultRecord, 'messageKey' | 'params'> {
  return { ...(event.messageKey === undefined ? {} : { messageKey: event.messageKey }), ...(event.params === undefined ? {} : { params: event.params }) };
}

function newEpisode(event: FaultMessage, at: number, state: FaultMessage['state']): FaultRecord {
  return {
    code: event.code,
    deviceId: event.deviceId,
    state,
    category: event.category,
    severity: event.severity,
    message: event.message,
    ...messageText(event),
    evidence: event.evidence,
    firstSeenAt: Date.parse(event.firstSeenAt),
    raisedAt: at,
    changedAt: at,
    eventId: event.eventId,
  };
}

/**
 * The third part of a fault's key. Device ids are agent-supplied strings: stored as JSON text so
 * that U+0000 or a lone surrogate (which PostgreSQL text cannot hold) still make a distinct,
 * reversible key; '' (never valid JSON) stands for faults of the PC itself.
 */
export function faultDeviceKey(deviceId: string | null): string {
  return deviceId === null ? '' : JSON.stringify(deviceId);
}
