import { describe, expect, it } from 'vitest';
import { LoginLimiter } from './login-limiter.js';

describe('login limiter', () => {
  const limits = { windowMs: 60_000, perAccount: 3, perAddress: 5 };

  it('locks an account after its limit of failures, whatever the address, until the oldest leaves the window', () => {
    let now = 0;
    const limiter = new LoginLimiter(limits, () => now);
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
      expect(limiter.check('Teacher', address)).toEqual({ allowed: true });
      limiter.failed('teacher', address);
      now += 1000;
    }
    expect(limiter.check('TEACHER', '10.0.0.9')).toEqual({ allowed: false, by: 'account', retryAfterSeconds: 57 });
    now = 60_001;
    expect(limiter.check('teacher', '10.0.0.9')).toEqual({ allowed: true });
  });

  it('locks an address that tries many accounts, and a success clears only the account', () => {
    const now = 0;
    const limiter = new LoginLimiter(limits, () => now);
    for (let index = 0; index < 5; index += 1) limiter.failed(`user-${index}`, '192.0.2.7');
    expect(limiter.check('someone-else', '192.0.2.7')).toMatchObject({ allowed: false, by: 'address' });
    expect(limiter.check('someone-else', '192.0.2.8')).toEqual({ allowed: true });
    limiter.failed('admin', '10.0.0.1');
    limiter.failed('admin', '10.0.0.1');
    limiter.succeeded('admin');
    limiter.failed('admin', '10.0.0.1');
    expect(limiter.check('admin', '10.0.0.1')).toEqual({ allowed: true });
  });
});
