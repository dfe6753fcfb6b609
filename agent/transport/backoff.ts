/**
 * Reconnect delays: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter", 2015): each delay is uniform in [0, min(cap, base * 2^attempt)). Jitter
 * matters here because a school's agents lose the cloud together (the school's uplink goes down)
 * and would otherwise all come back in the same second.
 *
 * Pure: no timers and no clock of its own; the transport passes the times in.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** A connection that lasted at least this long counts as healthy: the next delay starts small again. */
  stableAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1000, capMs: 60_000, stableAfterMs: 30_000 };

/** The upper bound of the delay before reconnect attempt `attempt` (0 for the first). */
export function backoffCeilingMs(attempt: number, policy: BackoffPolicy): number {
  // 2^attempt overflows to Infinity long after the cap is reached; min() keeps it finite.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
}

export class ReconnectBackoff {
  private attempt = 0;
  private connectedAt: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call counts as one more failed attempt. */
  nextDelayMs(): number {
    const ceiling = backoffCeilingMs(this.attempt, this.policy);
    this.attempt += 1;
    return Math.floor(this.random() * ceiling);
  }

  connected(atMs: number): void {
    this.connectedAt = atMs;
  }

  /**
   * A broker that accepts the connection and drops it at once (overloaded, or kicking a duplicate
   * client id) must not be hammered: only a connection that lasted resets the backoff.
   */
  disconnected(atMs: number): void {
    if (this.connectedAt !== undefined && atMs - this.connectedAt >= this.policy.stableAfterMs) this.attempt = 0;
    this.connectedAt = undefined;
  }

  get attempts(): number {
    return this.attempt;
  }
}
