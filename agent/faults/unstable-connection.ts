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

/** What a USB hotplug watch reports, as far as this needs it (libusb may lose the ids on detach). */
export interface HotplugChange {
  type: 'attach' | 'detach';
  info?: { busNumber?: number; portPath?: number[]; vendorId?: number; productId?: number };
}

/** A hotplug event as a connection event keyed by its port ("1-1.4"); null when libusb gave no port. */
export function connectionEventOf(change: HotplugChange, atMs: number): ConnectionEvent | null {
  const { busNumber, portPath, vendorId, productId } = change.info ?? {};
  if (busNumber === undefined || portPath === undefined || portPath.length === 0) return null;
  const event: ConnectionEvent = { port: `${busNumber}-${portPath.join('.')}`, type: change.type === 'attach' ? 'connect' : 'disconnect', atMs };
  if (vendorId !== undefined && productId !== undefined) event.label = `USB device ${hex4(vendorId)}:${hex4(productId)}`;
  return event;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}

/**
 * The last connection events, bounded in count and age: a port that flaps all day must not grow
 * the agent's memory, and nothing older than the window can count.
 */
export class ConnectionLog {
  private events: ConnectionEvent[] = [];

  constructor(
    private readonly maxEvents = 500,
    private readonly maxAgeMs = 24 * 60 * 60_000,
  ) {}

  record(event: ConnectionEvent): void {
    this.events.push(event);
    const oldest = event.atMs - this.maxAgeMs;
    if (this.events.length > this.maxEvents || (this.events[0]?.atMs ?? oldest) < oldest) {
      this.events = this.events.filter((kept) => kept.atMs >= oldest).slice(-this.maxEvents);
    }
  }

  all(): readonly ConnectionEvent[] {
    return this.events;
  }
}
