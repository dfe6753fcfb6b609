/**
 * A device whose USB connection drops and returns again and again: the loose cable of a touch
 * frame, a camera or a microphone. Counted per port over a sliding window from the hotplug events
 * (or a pasted kernel log); the evidence says how often and when, so nobody has to describe it.
 */

export interface ConnectionEvent {
  /** Where: the USB port ("1-1.4"), which stays the same when a flaky device comes back with a new number. */
  port: string;
  type: 'connect' | 'disconnect';
  atMs: number;
  /** What the device said it was, when known (for the evidence). */
  label?: string;
}

export interface UnstableConnection {
  port: string;
  label: string | null;
  disconnects: number;
  windowMinutes: number;
  /** When each disconnect happened, oldest first (at most the last 20). */
  disconnectedAt: string[];
  /** Whether the device is there now (its last event was a connect). */
  presentNow: boolean;
}

export interface UnstableConnectionOptions {
  /** This many disconnects within the window make a connection unstable (3: one unplug for a move is not a fault). */
  threshold?: number;
  windowMs?: number;
}

export const DEFAULT_UNSTABLE_THRESHOLD = 3;
export const DEFAULT_UNSTABLE_WINDOW_MS = 10 * 60_000;

/** The ports whose disconnects in the window ending at `nowMs` reach the threshold. Pure: the caller keeps the events. */
export function unstableConnections(events: readonly ConnectionEvent[], nowMs: number, options: UnstableConnectionOptions = {}): UnstableConnection[] {
  const threshold = options.threshold ?? DEFAULT_UNSTABLE_THRESHOLD;
  const windowMs = options.windowMs ?? DEFAULT_UNSTABLE_WINDOW_MS;
  const byPort = new Map<string, ConnectionEvent[]>();
  for (const event of [...events].sort((a, b) => a.atMs - b.atMs)) {
    if (event.atMs > nowMs) continue;
    byPort.set(event.port, [...(byPort.get(event.port) ?? []), event]);
  }
  const found: UnstableConnection[] = [];
  for (const [port, portEvents] of byPort) {
    const recent = portEvents.filter((event) => event.type === 'disconnect' && event.atMs > nowMs - windowMs);
    if (recent.length < threshold) continue;
    const label = [...portEvents].reverse().find((event) => event.label !== undefined)?.label ?? null;
    found.push({
      port,
      label,
      disconnects: recent.length,
      windowMinutes: Math.round(windowMs / 60_000),
      disconnectedAt: recent.slice(-20).map((event) => new Date(event.atMs).toISOString()),
      presentNow: portEvents.at(-1)?.type === 'connect',
    });
  }
  return found.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
}
