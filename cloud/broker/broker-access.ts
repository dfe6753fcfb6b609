/**
 * The broker side of an agent's identity. The embedded broker checks the database itself on every
 * connect, so granting is nothing there and revoking only disconnects; Mosquitto keeps its own
 * clients and roles (dynamic security), which the cloud creates and deletes through this.
 */
export interface AgentBrokerAccount {
  schoolId: string;
  agentId: string;
  username: string;
  clientId: string;
}

/** A reflector in its own process: reads agents' signalling, answers into their signalling inboxes. */
export interface ReflectorBrokerAccount {
  reflectorId: string;
  username: string;
  clientId: string;
}

export interface BrokerAccess {
  /** What kind of broker enforces access, for the log and `start`'s summary. */
  readonly description: string;
  /** Creates the agent's broker account (or sets its password when it exists). Throws BROKER_ACCESS_FAILED. */
  grantAgent(account: AgentBrokerAccount, password: string): Promise<void>;
  /** Removes the account and disconnects a live connection at once. */
  revokeAgent(account: AgentBrokerAccount): Promise<void>;
  grantReflector(account: ReflectorBrokerAccount, password: string): Promise<void>;
  revokeReflector(account: ReflectorBrokerAccount): Promise<void>;
}

/** For an external broker the cloud does not manage (`--insecure-open-broker`): nothing to grant or revoke. */
export const UNMANAGED_BROKER: BrokerAccess = {
  description: 'unmanaged external broker (no per-agent access control)',
  grantAgent: () => Promise.resolve(),
  revokeAgent: () => Promise.resolve(),
  grantReflector: () => Promise.resolve(),
  revokeReflector: () => Promise.resolve(),
};
