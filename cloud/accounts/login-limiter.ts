/**
 * Slows password guessing: failed sign-ins are counted per account and per source address over a
 * sliding window; past the limit, further attempts are refused without checking the password
 * (so they cost neither scrypt time nor an audit write) until the oldest failure leaves the
 * window. A success clears the account's count. Kept in memory: a restart forgets the counts,
 * which costs an attacker a restart they cannot cause.
 */
export interface LoginLimits {
  windowMs: number;
  perAccount: number;
  perAddress: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perAccount: 5, perAddress: 30 };

/** More keys than this and the oldest are dropped: an attacker cycling names cannot grow memory without bound. */
const MAX_KEYS = 50_000;

export type LoginCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number; by: 'account' | 'address' };

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  check(accountName: string, address: string): LoginCheck {
    const now = this.now();
    for (const [key, limit, by] of [[accountKey(accountName), this.limits.perAccount, 'account'], [addressKey(address), this.limits.perAddress, 'address']] as const) {
      const recent = this.recent(key, now);
      if (recent.length >= limit) {
        const oldest = recent[recent.length - limit] ?? now;
        return { allowed: false, by, retryAfterSeconds: Math.max(1, Math.ceil((oldest + this.limits.windowMs - now) / 1000)) };
      }
    }
    return { allowed: true };
  }

  failed(accountName: string, address: string): void {
    const now = this.now();
    for (const key of [accountKey(accountName), addressKey(address)]) {
      const recent = this.recent(key, now);
      recent.push(now);
      // Re-inserted so the map's order is least recently failed first, for eviction.
      this.failures.delete(key);
      this.failures.set(key, recent);
    }
    while (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
  }

  succeeded(accountName: string): void {
    this.failures.delete(accountKey(accountName));
  }

  private recent(key: string, now: number): number[] {
    const times = (this.failures.get(key) ?? []).filter((at) => now - at < this.limits.windowMs);
    if (times.length === 0) this.failures.delete(key);
    return times;
  }
}

const accountKey = (name: string): string => `account:${name.toLowerCase()}`;
const addressKey = (address: string): string => `address:${address}`;
