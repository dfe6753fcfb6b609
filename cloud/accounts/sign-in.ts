import { AvcareError, untrustedText, type LoginRequest, type LoginResponse } from '../../protocol/index.js';
import type { AuditFloodGuard } from '../audit/audit-flood-guard.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Principal } from './access-policy.js';
import type { Accounts } from './accounts.js';
import type { ApiTokens } from './api-tokens.js';
import type { LimitedBy, LoginLimiter, LoginReservation } from './login-limiter.js';

export interface SignInOptions {
  accounts: Accounts;
  tokens: ApiTokens;
  limiter: LoginLimiter;
  audit: AuditLog;
  /** Refused attempts are recorded through it: per address, a flood becomes one entry a minute. */
  auditGuard: AuditFloodGuard;
  /** Told of every refusal by the limiter (a metric): those are not audited one by one. */
  onThrottled?: (by: LimitedBy) => void;
}

/**
 * Password sign-in: an attempt is reserved with the limiter first (no scrypt, no audit write for a
 * throttled guess), then the password, then a bearer token. The refusal never says whether the
 * name or the password was wrong, and every attempt that reached the password check is in the
 * audit log. Changing one's own password checks the current one under the same limits.
 */
export class SignIn {
  constructor(private readonly options: SignInOptions) {}

  /** browser: the token becomes a console session (an HttpOnly cookie) that also ends after idleMinutes without a request. */
  async login(request: LoginRequest, source: string, browser?: { idleMinutes: number }): Promise<LoginResponse> {
    const { accounts, tokens, limiter, audit } = this.options;
    const name = request.name.trim();
    // The name is the caller's string: stored printable and bounded, since the audit is read by people.
    const target = `user:${untrustedText(name, 64) ?? '(empty)'}`;
    const reservation = this.reserve(name, source);
    const account = await accounts.verify(name, request.password);
    if (!account) {
      // Per address and name: the limiter already bounds each pair and each address; the guard caps the spread-out rest.
      await this.options.auditGuard.append(`auth.login:${source}|${name.toLowerCase()}`, { actor: 'anonymous', action: 'auth.login', target, outcome: 'failure', source, detail: { reason: 'wrong name or password, or account disabled' } });
      throw new AvcareError('LOGIN_FAILED', 'the name or the password is wrong (or the account is disabled)');
    }
    limiter.succeeded(reservation);
    const issued = await tokens.issue(account.id, {
      ...(request.ttlHours === undefined ? {} : { ttlHours: request.ttlHours }),
      label: request.label ?? (browser ? 'console' : null),
      source,
      ...(browser ? { idleMinutes: browser.idleMinutes } : {}),
    });
    await audit.append({ actor: `user:${account.name}`, action: 'auth.login', target: `user:${account.name}`, outcome: 'success', source, schoolId: account.schoolId, detail: { tokenId: issued.id, expiresAt: issued.expiresAt, ...(browser ? { console: true } : {}) } });
    return {
      token: issued.token,
      tokenId: issued.id,
      expiresAt: issued.expiresAt,
      account: { id: account.id, name: account.name, role: account.role, schoolId: account.schoolId, teamId: account.teamId, mustChangePassword: account.mustChangePassword },
    };
  }

  /**
   * A signed-in person proves they know their current password (to choose a new one): throttled
   * like a sign-in, and a wrong one is audited, since a stolen token must not become a free oracle.
   */
  async checkCurrentPassword(principal: Principal, password: string, source: string): Promise<void> {
    const { accounts, limiter, auditGuard } = this.options;
    const reservation = this.reserve(principal.name, source);
    const account = await accounts.verify(principal.name, password);
    if (!account || account.id !== principal.accountId) {
      await auditGuard.append(`account.password:${principal.accountId}`, { actor: `user:${principal.name}`, action: 'account.password', target: `user:${principal.name}`, outcome: 'failure', source, schoolId: principal.schoolId, detail: { reason: 'the current password is wrong' } });
      throw new AvcareError('LOGIN_FAILED', 'the current password is wrong');
    }
    limiter.succeeded(reservation);
  }

  private reserve(name: string, source: string): LoginReservation {
    const reserved = this.options.limiter.reserve(name, source);
    if (reserved.allowed) return reserved.reservation;
    this.options.onThrottled?.(reserved.by);
    throw new AvcareError('LOGIN_THROTTLED', `too many failed sign-ins ${THROTTLE_REASON[reserved.by]}; try again in ${reserved.retryAfterSeconds} s`, {
      retryAfterSeconds: reserved.retryAfterSeconds,
    });
  }

  async logout(principal: Principal, source: string): Promise<void> {
    await this.options.tokens.revoke(principal.accountId, principal.tokenId);
    await this.options.audit.append({ actor: `user:${principal.name}`, action: 'auth.logout', target: `user:${principal.name}`, outcome: 'success', source, schoolId: principal.schoolId, detail: { tokenId: principal.tokenId } });
  }
}

const THROTTLE_REASON: Record<LimitedBy, string> = {
  'account-address': 'for this account from this address',
  address: 'from this address',
  account: 'for this account from many addresses (attempts are spaced out)',
};
