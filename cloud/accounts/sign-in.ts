import { AvcareError, untrustedText, type LoginRequest, type LoginResponse } from '../../protocol/index.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Principal } from './access-policy.js';
import type { Accounts } from './accounts.js';
import type { ApiTokens } from './api-tokens.js';
import type { LoginLimiter } from './login-limiter.js';

export interface SignInOptions {
  accounts: Accounts;
  tokens: ApiTokens;
  limiter: LoginLimiter;
  audit: AuditLog;
  /** Told of every refusal by the limiter (a metric): those are not audited one by one. */
  onThrottled?: (by: 'account' | 'address') => void;
}

/**
 * Password sign-in: rate limit first (no scrypt, no audit write for a throttled guess), then the
 * password, then a bearer token. The refusal never says whether the name or the password was
 * wrong, and every attempt that reached the password check is in the audit log.
 */
export class SignIn {
  constructor(private readonly options: SignInOptions) {}

  async login(request: LoginRequest, source: string): Promise<LoginResponse> {
    const { accounts, tokens, limiter, audit } = this.options;
    const name = request.name.trim();
    // The name is the caller's string: stored printable and bounded, since the audit is read by people.
    const target = `user:${untrustedText(name, 64) ?? '(empty)'}`;
    const check = limiter.check(name, source);
    if (!check.allowed) {
      this.options.onThrottled?.(check.by);
      throw new AvcareError('LOGIN_THROTTLED', `too many failed sign-ins ${check.by === 'account' ? 'for this account' : 'from this address'}; try again in ${check.retryAfterSeconds} s`, {
        retryAfterSeconds: check.retryAfterSeconds,
      });
    }
    const account = await accounts.verify(name, request.password);
    if (!account) {
      limiter.failed(name, source);
      await audit.append({ actor: 'anonymous', action: 'auth.login', target, outcome: 'failure', source, detail: { reason: 'wrong name or password, or account disabled' } });
      throw new AvcareError('LOGIN_FAILED', 'the name or the password is wrong (or the account is disabled)');
    }
    limiter.succeeded(name);
    const issued = await tokens.issue(account.id, { ...(request.ttlHours === undefined ? {} : { ttlHours: request.ttlHours }), label: request.label ?? null, source });
    await audit.append({ actor: `user:${account.name}`, action: 'auth.login', target: `user:${account.name}`, outcome: 'success', source, schoolId: account.schoolId, detail: { tokenId: issued.id, expiresAt: issued.expiresAt } });
    return {
      token: issued.token,
      tokenId: issued.id,
      expiresAt: issued.expiresAt,
      account: { id: account.id, name: account.name, role: account.role, schoolId: account.schoolId, teamId: account.teamId, mustChangePassword: account.mustChangePassword },
    };
  }

  async logout(principal: Principal, source: string): Promise<void> {
    await this.options.tokens.revoke(principal.accountId, principal.tokenId);
    await this.options.audit.append({ actor: `user:${principal.name}`, action: 'auth.logout', target: `user:${principal.name}`, outcome: 'success', source, schoolId: principal.schoolId, detail: { tokenId: principal.tokenId } });
  }
}
