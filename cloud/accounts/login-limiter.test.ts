import { describe, expect, it } from 'vitest';
import { LoginLimiter, type LoginReserve } from './login-limiter.js';

const limits = { windowMs: 60_000, perAccountAddress: 3, perAddress: 5, perAccountSoft: 6, accountSpacingMs: 10_000, knownAddressMs: 3_600_000 };

function take(limiter: LoginLimiter, account: string, address: string): LoginReserve & { allowed: true } {
  const reserved = limiter.reserve(account, address);
  if (!reserved.allowed) throw new Error(`expected an attempt for ${account} from ${address} to be allowed, got ${JSON.stringify(reserved)}`);
  return reserved;
}

describe('login limiter', () => {
  it('counts an attempt when it is reserved, so attempts in flight at once stop at the limit', () => {
    const limiter = new LoginLimiter(limits, () => 0);
    // Nothing is reported back yet: all are still checking their password.
    const outcomes = Array.from({ length: 10 }, () => limiter.reserve('teacher', '10.0.0.1'));
    expect(outcomes.filter((outcome) => outcome.allowed)).toHaveLength(3);
    expect(outcomes[3]).toMatchObject({ allowed: false, by: 'account-address' });
  });

  it('locks an account only from the address that guessed, until the oldest guess leaves the window', () => {
    let now = 0;
    const limiter = new LoginLimiter(limits, () => now);
    for (let index = 0; index < 3; index += 1) {
      take(limiter, 'Teacher', '10.0.0.1');
      now += 1000;
    }
    expect(limiter.reserve('TEACHER', '10.0.0.1')).toEqual({ allowed: false, by: 'account-address', retryAfterSeconds: 57 });
    // The owner elsewhere is not locked out.
    expect(limiter.reserve('teacher', '10.0.0.2').allowed).toBe(true);
    now = 60_001;
    expect(limiter.reserve('teacher', '10.0.0.1').allowed).toBe(true);
  });

  it('locks an address that tries many accounts', () => {
    const limiter = new LoginLimiter(limits, () => 0);
    for (let index = 0; index < 5; index += 1) take(limiter, `user-${index}`, '192.0.2.7');
    expect(limiter.reserve('someone-else', '192.0.2.7')).toMatchObject({ allowed: false, by: 'address' });
    expect(limiter.reserve('someone-else', '192.0.2.8').allowed).toBe(true);
  });

  it('gives a successful attempt back and forgets the pair, not the failures of other addresses', () => {
    const limiter = new LoginLimiter(limits, () => 0);
    take(limiter, 'admin', '10.0.0.1');
    take(limiter, 'admin', '10.0.0.1');
    limiter.succeeded(take(limiter, 'admin', '10.0.0.1').reservation);
    for (let index = 0; index < 3; index += 1) take(limiter, 'admin', '10.0.0.1');
    expect(limiter.reserve('admin', '10.0.0.1')).toMatchObject({ allowed: false, by: 'account-address' });
  });

  it('spaces guesses spread over many addresses instead of locking, and does not slow an address the owner signed in from', () => {
    let now = 0;
    const limiter = new LoginLimiter(limits, () => now);
    limiter.succeeded(take(limiter, 'principal', '10.9.9.9').reservation);
    for (let index = 0; index < 6; index += 1) take(limiter, 'principal', `198.51.100.${index}`);
    // Past the soft ceiling: the next unknown address goes on, then everyone waits the spacing.
    take(limiter, 'principal', '198.51.100.50');
    expect(limiter.reserve('principal', '198.51.100.51')).toEqual({ allowed: false, by: 'account', retryAfterSeconds: 10 });
    now += 10_000;
    expect(limiter.reserve('principal', '198.51.100.52').allowed).toBe(true);
    // The owner's usual address is never slowed by the spread-out guessing.
    expect(limiter.reserve('principal', '10.9.9.9').allowed).toBe(true);
    // And a new address of the owner is only delayed, never locked: it gets its turn.
    expect(limiter.reserve('principal', '203.0.113.4')).toMatchObject({ allowed: false, by: 'account' });
    now += 10_000;
    expect(limiter.reserve('principal', '203.0.113.4').allowed).toBe(true);
  });
});
