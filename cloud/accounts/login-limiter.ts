/**
 * Slows password guessing without letting a guesser lock the owner out.
 *
 * Every attempt is *reserved* before its password is checked (synchronously, before the slow
 * scrypt), so however many requests arrive at once, no more passwords are checked per window than
 * the limits allow. A reservation that turns out a success is given back; a failure stays counted.
 *
 * Three limits, each over a sliding window:
 * - per account *and* address (5 in 15 min): the lock. Someone else's wrong guesses from another
 *   address do not count against the owner's address.
 * - per address (30 in 15 min): one address trying many accounts.
 * - per account across addresses (past 20 failures in 15 min): guesses spread over many addresses
 *   are spaced one every 30 s; this delays, it never locks. An address that signed in to the
 *   account successfully lately is not slowed by it at all, so the owner's usual place still works
 *   while the account is under attack from elsewhere.
 *
 * Kept in memory: a restart forgets the counts, which costs an attacker a restart they cannot cause.
 */
export interface LoginLimits {
  windowMs: number;
  /** Failed attempts per account from one address before that pair is refused. */
  perAccountAddress: number;
  /** Failed attempts from one address, whatever the accounts. */
  perAddress: number;
  /** Failed attempts on one account from all addresses before further ones are spaced. */
  perAccountSoft: number;
  /** The spacing past perAccountSoft: one attempt on the account per this many ms. */
  accountSpacingMs: number;
  /** How long an address that signed in successfully is known for its account. */
  knownAddressMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  windowMs: 15 * 60_000,
  perAccountAddress: 5,
  perAddress: 30,
  perAccountSoft: 20,
  accountSpacingMs: 30_000,
  knownAddressMs: 30 * 24 * 3_600_000,
};

/** More keys than this and the oldest are dropped: an attacker cycling names cannot grow memory without bound. */
const MAX_KEYS = 50_000;

export type LimitedBy = 'account' | 'address' | 'account-address';

/** An attempt allowed to check its password: it counts as a failure unless `succeeded` gives it back. */
export interface LoginReservation {
  readonly account: string;
  readonly address: string;
  readonly at: number;
}

export type LoginReserve = { allowed: true; reservation: LoginReservation } | { allowed: false; retryAfterSeconds: number; by: LimitedBy };

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  /** account key -> when the account's spaced attempts may go on next. */
  private readonly nextSpacedAt = new Map<string, number>();
  /** account+address key -> when it last signed in successfully. */
  private readonly known = new Map<string, number>();
  private readonly limits: LoginLimits;

  constructor(
    limits: Partial<LoginLimits> = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_LOGIN_LIMITS, ...limits };
  }

  /**
   * Takes one attempt for (account, address) if every limit allows it, counting it at once as a
   * failure until `succeeded` gives it back: a burst of simultaneous requests sees its own
   * reservations and stops at the limit.
   */
  reserve(accountName: string, address: string): LoginReserve {
    const now = this.now();
    const account = accountKey(accountName);
    const pair = pairKey(accountName, address);
    const addressKeyed = addressKey(address);
    for (const [key, limit, by] of [
      [pair, this.limits.perAccountAddress, 'account-address'],
      [addressKeyed, this.limits.perAddress, 'address'],
    ] as const) {
      const recent = this.recent(key, now);
      if (recent.length >= limit) return { allowed: false, by, retryAfterSeconds: this.secondsUntil((recent[recent.length - limit] ?? now) + this.limits.windowMs, now) };
    }
    const knownAddress = now - (this.known.get(pair) ?? Number.NEGATIVE_INFINITY) < this.limits.knownAddressMs;
    if (!knownAddress && this.recent(account, now).length >= this.limits.perAccountSoft) {
      const next = this.nextSpacedAt.get(account) ?? now;
      if (next > now) return { allowed: false, by: 'account', retryAfterSeconds: this.secondsUntil(next, now) };
      this.nextSpacedAt.set(account, now + this.limits.accountSpacingMs);
    }
    for (const key of [pair, addressKeyed, account]) this.push(key, now);
    this.evict();
    return { allowed: true, reservation: { account: accountName, address, at: now } };
  }

  /** The password was right: the attempt is given back, the pair's failures forgotten, the address known for the account. */
  succeeded(reservation: LoginReservation): void {
    const pair = pairKey(reservation.account, reservation.address);
    this.failures.delete(pair);
    for (const key of [addressKey(reservation.address), accountKey(reservation.account)]) this.release(key, reservation.at);
    this.known.delete(pair);
    this.known.set(pair, this.now());
    while (this.known.size > MAX_KEYS) {
      const oldest = this.known.keys().next().value;
      if (oldest === undefined) break;
      this.known.delete(oldest);
    }
  }

  private push(key: string, at: number): void {
    const recent = this.failures.get(key) ?? [];
    recent.push(at);
    // Re-inserted so the map's order is least recently failed first, for eviction.
    this.failures.delete(key);
    this.failures.set(key, recent);
  }

  private release(key: string, at: number): void {
    const recent = this.failures.get(key);
    if (!recent) return;
    const index = recent.lastIndexOf(at);
    if (index !== -1) recent.splice(index, 1);
    if (recent.length === 0) this.failures.delete(key);
  }

  private evict(): void {
    while (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest === undefined) break;
      this.failures.delete(oldest);
    }
    while (this.nextSpacedAt.size > MAX_KEYS) {
      const oldest = this.nextSpacedAt.keys().next().value;
      if (oldest === undefined) break;
      this.nextSpacedAt.delete(oldest);
    }
  }

  private recent(key: string, now: number): number[] {
    const stored = this.failures.get(key);
    if (!stored) return [];
    const times = stored.filter((at) => now - at < this.limits.windowMs);
    if (times.length === 0) this.failures.delete(key);
    else if (times.length !== stored.length) this.failures.set(key, times);
    return times;
  }

  private secondsUntil(at: number, now: number): number {
    return Math.max(1, Math.ceil((at - now) / 1000));
  }
}

const accountKey = (name: string): string => `account:${name.trim().toLowerCase()}`;
const addressKey = (address: string): string => `address:${address}`;
const pairKey = (name: string, address: string): string => `pair:${name.trim().toLowerCase()}\u0000${address}`;
