import type { Logger } from '../protocol/log.js';
import type { BrokerAccess } from './broker/broker-access.js';
import type { BrokerAuthentication } from './broker/embedded-broker.js';
import { Accounts } from './accounts/accounts.js';
import { ApiTokens } from './accounts/api-tokens.js';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './accounts/login-limiter.js';
import type { ScryptCost } from './accounts/password-hash.js';
import { SignIn } from './accounts/sign-in.js';
import { AuditFloodGuard, type AuditFloodLimits } from './audit/audit-flood-guard.js';
import { AuditLog } from './audit/audit-log.js';
import { AgentRegistry } from './identity/agent-registry.js';
import { EnrollTokens } from './identity/enroll-tokens.js';
import { Enrollment } from './identity/enrollment.js';
import { ReflectorRegistry } from './identity/reflector-registry.js';
import { SECRET_PREFIXES } from './identity/secret-token.js';
import type { CloudSigningKey } from './identity/signing-key.js';
import type { CloudMetrics } from './metrics.js';
import type { Dialect } from './store/dialect.js';
import type { ServiceDirectory } from './tickets/service-directory.js';

/** Everything that ties acts to identities: people, agents, and the record of what they did. */
export interface Security {
  audit: AuditLog;
  /** The way to the audit log for entries an outside party can cause: bounded per source and minute. */
  auditGuard: AuditFloodGuard;
  accounts: Accounts;
  tokens: ApiTokens;
  signIn: SignIn;
  enrollTokens: EnrollTokens;
  enrollment: Enrollment;
  registry: AgentRegistry;
  reflectors: ReflectorRegistry;
  signingKey: CloudSigningKey;
  directory: ServiceDirectory;
  /** `--insecure-plaintext`: credentials accepted over plain connections from other machines. */
  allowPlaintextCredentials: boolean;
  /** The read-only bearer token of /metrics, when the operator set one. */
  metricsToken?: string;
}

export interface SecurityOptions {
  db: Dialect;
  signingKey: CloudSigningKey;
  directory: ServiceDirectory;
  /** The broker URL an agent that reached the API at `host` is told to use. */
  agentMqttUrl: (host: string) => string;
  log: Logger;
  metrics?: CloudMetrics;
  allowPlaintextCredentials?: boolean;
  metricsToken?: string;
  scryptCost?: ScryptCost;
  loginLimits?: LoginLimits;
  /** Tighter audit flood limits for tests; a minute, 5 per source and 600 in all otherwise. */
  auditFloodLimits?: Partial<AuditFloodLimits>;
}

export function createSecurity(options: SecurityOptions): Security {
  const { db, directory, signingKey } = options;
  const audit = new AuditLog(db);
  const auditGuard = new AuditFloodGuard(audit, {
    log: options.log.child({ module: 'audit-flood-guard' }),
    onHeldBack: (action) => options.metrics?.auditHeldBack.inc({ action }),
    ...(options.auditFloodLimits ? { limits: options.auditFloodLimits } : {}),
  });
  const accounts = new Accounts({
    db,
    audit,
    ...(options.scryptCost ? { cost: options.scryptCost } : {}),
    knownTeam: (teamId) => directory.schoolsOfTeam(teamId) !== undefined,
  });
  const tokens = new ApiTokens(db);
  const signIn = new SignIn({
    accounts,
    tokens,
    audit,
    auditGuard,
    limiter: new LoginLimiter(options.loginLimits ?? DEFAULT_LOGIN_LIMITS),
    onThrottled: (by) => options.metrics?.loginsThrottled.inc({ by }),
  });
  const enrollTokens = new EnrollTokens(db, audit);
  const registry = new AgentRegistry(db, audit);
  const reflectors = new ReflectorRegistry(db, audit);
  const enrollment = new Enrollment({ db, audit, auditGuard, tokens: enrollTokens, registry, signingKey, mqttUrl: options.agentMqttUrl });
  return {
    audit,
    auditGuard,
    accounts,
    tokens,
    signIn,
    enrollTokens,
    enrollment,
    registry,
    reflectors,
    signingKey,
    directory,
    allowPlaintextCredentials: options.allowPlaintextCredentials ?? false,
    ...(options.metricsToken === undefined ? {} : { metricsToken: options.metricsToken }),
  };
}

/** The broker that enforces access, for everything that grants or revokes broker accounts. */
export function attachBroker(security: Pick<Security, 'registry' | 'reflectors'>, broker: BrokerAccess): void {
  security.registry.attachBroker(broker);
  security.reflectors.attachBroker(broker);
}

/** How the embedded broker checks a login: the secret's prefix says whose account it is. */
export function brokerLogins(security: Pick<Security, 'registry' | 'reflectors'>): BrokerAuthentication {
  return {
    mode: 'agents',
    verify: (username, password) => (password.startsWith(SECRET_PREFIXES.reflectorSecret) ? security.reflectors.verifyMqtt(username, password) : security.registry.verifyMqtt(username, password)),
  };
}
