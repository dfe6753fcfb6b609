import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '../../protocol/index.js';
import { silentLogger } from '../../protocol/log.js';
import type { ScryptCost } from '../../cloud/accounts/password-hash.js';
import type { AuditFloodLimits } from '../../cloud/audit/audit-flood-guard.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { createSecurity, type Security } from '../../cloud/security.js';
import type { Store } from '../../cloud/store/store.js';
import { EMPTY_DIRECTORY } from '../../cloud/tickets/service-config.js';
import type { ServiceDirectory } from '../../cloud/tickets/service-directory.js';

/**
 * scrypt at 2^12 instead of OWASP's 2^17: the suites create many accounts, and the hash's cost is
 * a parameter of the stored hash, not of the code under test (password-hash.test.ts checks the
 * real cost).
 */
export const TEST_SCRYPT: ScryptCost = { logN: 12, r: 8, p: 1 };

export interface TestSecurity {
  security: Security;
  /** A bearer token of an account made for the test (created directly, without the login route). */
  tokenFor(account: { name: string; role: Role; schoolId?: string; teamId?: string }): Promise<string>;
  /** An operator's bearer token. */
  operatorToken: string;
}

/** The cloud's security services over a migrated test store, with a fresh signing key. */
export async function testSecurity(
  store: Store,
  options: { directory?: ServiceDirectory; agentMqttUrl?: string; allowPlaintextCredentials?: boolean; auditFloodLimits?: Partial<AuditFloodLimits> } = {},
): Promise<TestSecurity> {
  const { key } = CloudSigningKey.loadOrCreate(join(mkdtempSync(join(tmpdir(), 'avcare-key-')), 'signing-key.pem'));
  await key.bindTo(store.database, 'test key');
  const security = createSecurity({
    db: store.database,
    signingKey: key,
    directory: options.directory ?? EMPTY_DIRECTORY,
    agentMqttUrl: (host) => options.agentMqttUrl ?? `mqtt://${host}:1883`,
    log: silentLogger,
    scryptCost: TEST_SCRYPT,
    allowPlaintextCredentials: options.allowPlaintextCredentials ?? false,
    ...(options.auditFloodLimits ? { auditFloodLimits: options.auditFloodLimits } : {}),
  });
  const tokenFor: TestSecurity['tokenFor'] = async (account) => {
    const existing = await security.accounts.byName(account.name);
    const created =
      existing ??
      (await security.accounts.create({ name: account.name, role: account.role, schoolId: account.schoolId ?? null, teamId: account.teamId ?? null, password: `${account.name}-password` }, { actor: 'test', source: null }));
    return (await security.tokens.issue(created.id)).token;
  };
  return { security, tokenFor, operatorToken: await tokenFor({ name: 'test-operator', role: 'operator' }) };
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}
