import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { AvcareError, agentInboxFilter, agentPublishFilter, inboxFilter, TOPIC_ROOT } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import { signalFilter, signalInboxFilter } from '../../protocol/measure-signal.js';
import type { AgentBrokerAccount, BrokerAccess, ReflectorBrokerAccount } from './broker-access.js';

const CONTROL_TOPIC = '$CONTROL/dynamic-security/v1';
const RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';
/** Names the cloud owns at the broker; anything else there (people's own clients) is left alone. */
export const AGENT_ROLE_PREFIX = 'avcare-agent:';
export const COLLECTOR_ROLE = 'avcare-collector';
export const REFLECTOR_ROLE = 'avcare-reflector';

interface DynsecCommand {
  command: string;
  [field: string]: unknown;
}

interface DynsecResponse {
  command: string;
  error?: string;
  correlationData?: string;
  data?: unknown;
}

export interface DynsecConnection {
  url: string;
  username: string;
  password: string;
  ca?: Buffer;
}

/** The ACLs of one agent's role: publish its own telemetry, subscribe and receive what is addressed to it. */
export function agentAcls(account: Pick<AgentBrokerAccount, 'schoolId' | 'agentId'>): Array<{ acltype: string; topic: string; allow: boolean; priority: number }> {
  const inbox = agentInboxFilter(account.schoolId, account.agentId);
  return [
    { acltype: 'publishClientSend', topic: agentPublishFilter(account.schoolId, account.agentId), allow: true, priority: 0 },
    { acltype: 'subscribePattern', topic: inbox, allow: true, priority: 0 },
    { acltype: 'publishClientReceive', topic: inbox, allow: true, priority: 0 },
  ];
}

/** A reflector reads every agent's signalling and answers into their signalling inboxes. */
export function reflectorAcls(): Array<{ acltype: string; topic: string; allow: boolean; priority: number }> {
  return [
    { acltype: 'subscribePattern', topic: signalFilter(), allow: true, priority: 0 },
    { acltype: 'publishClientReceive', topic: signalFilter(), allow: true, priority: 0 },
    { acltype: 'publishClientSend', topic: signalInboxFilter(), allow: true, priority: 0 },
  ];
}

/** The collector reads every agent's telemetry (also through a shared subscription) and writes to their inboxes. */
export function collectorAcls(): Array<{ acltype: string; topic: string; allow: boolean; priority: number }> {
  return [
    { acltype: 'subscribePattern', topic: `${TOPIC_ROOT}/#`, allow: true, priority: 0 },
    // Mosquitto 2.0 checks a shared subscription's ACL on the whole filter, $share/GROUP/ included.
    { acltype: 'subscribePattern', topic: `$share/+/${TOPIC_ROOT}/#`, allow: true, priority: 0 },
    { acltype: 'publishClientReceive', topic: `${TOPIC_ROOT}/#`, allow: true, priority: 0 },
    { acltype: 'publishClientSend', topic: inboxFilter(), allow: true, priority: 0 },
  ];
}

/**
 * Mosquitto's dynamic-security plugin, driven over `$CONTROL/dynamic-security/v1` with the
 * admin credentials the operator gave the cloud (`--broker-user`, `--broker-password-file`): one
 * client and one role per agent, a client and role for the collector, and default access that
 * denies what no role allows. Mosquitto hashes the passwords itself and kicks a client whose
 * account is deleted or whose password changes, so a revocation takes effect at once.
 */
export class MosquittoDynsec implements BrokerAccess {
  readonly description = 'Mosquitto dynamic security: one client and role per agent';
  private readonly waiting = new Map<string, { resolve(response: DynsecResponse): void; reject(error: Error): void; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly client: MqttClient,
    private readonly log: Logger,
    private readonly timeoutMs: number,
  ) {
    client.on('message', (topic, payload) => {
      if (topic !== RESPONSE_TOPIC) return;
      let parsed: { responses?: DynsecResponse[] };
      try {
        parsed = JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] };
      } catch {
        this.log.warn('a dynamic-security response was not JSON; ignored');
        return;
      }
      for (const response of parsed.responses ?? []) {
        const pending = response.correlationData === undefined ? undefined : this.waiting.get(response.correlationData);
        if (!pending) continue;
        clearTimeout(pending.timer);
        this.waiting.delete(response.correlationData ?? '');
        pending.resolve(response);
      }
    });
  }

  /** Connects as the dynamic-security admin and subscribes to the plugin's answers. */
  static async connect(connection: DynsecConnection, log: Logger, options: { timeoutMs?: number } = {}): Promise<MosquittoDynsec> {
    let client: MqttClient;
    try {
      client = await mqtt.connectAsync(connection.url, {
        username: connection.username,
        password: connection.password,
        clientId: `avcare-dynsec-${randomUUID().slice(0, 8)}`,
        protocolVersion: 4,
        reconnectPeriod: 1_000,
        connectTimeout: 10_000,
        ...(connection.ca ? { ca: connection.ca } : {}),
      });
    } catch (error) {
      throw new AvcareError('BROKER_ACCESS_FAILED', `cannot connect to the broker's dynamic security as ${connection.username}: ${(error as Error).message}`, {}, { cause: error });
    }
    const granted = await client.subscribeAsync(RESPONSE_TOPIC, { qos: 1 });
    if (granted.some((grant) => grant.qos === 0x80)) {
      client.end(true);
      throw new AvcareError('BROKER_ACCESS_FAILED', `the broker does not let ${connection.username} use ${CONTROL_TOPIC}: give the cloud the dynamic-security admin (mosquitto_ctrl dynsec init ...)`);
    }
    const dynsec = new MosquittoDynsec(client, log.child({ module: 'mosquitto-dynsec' }), options.timeoutMs ?? 10_000);
    // Answers prove the plugin is loaded; a broker without it would silently ignore every command.
    await dynsec.run([{ command: 'getDefaultACLAccess' }]);
    return dynsec;
  }

  /** What no role allows is denied: publishing and subscribing need a role; receiving follows the subscription. */
  async secureDefaults(): Promise<void> {
    await this.run([
      {
        command: 'setDefaultACLAccess',
        acls: [
          { acltype: 'publishClientSend', allow: false },
          { acltype: 'publishClientReceive', allow: true },
          { acltype: 'subscribe', allow: false },
          { acltype: 'unsubscribe', allow: true },
        ],
      },
    ]);
  }

  /** The collector's own account (created, or its password replaced): it connects with it right after. */
  async grantCollector(username: string, password: string): Promise<void> {
    await this.ensureRole(COLLECTOR_ROLE, collectorAcls());
    await this.ensureClient({ username, password, roles: [COLLECTOR_ROLE] });
  }

  async grantAgent(account: AgentBrokerAccount, password: string): Promise<void> {
    const role = `${AGENT_ROLE_PREFIX}${account.schoolId}:${account.agentId}`;
    await this.ensureRole(role, agentAcls(account));
    await this.ensureClient({ username: account.username, password, clientid: account.clientId, roles: [role] });
  }

  async revokeAgent(account: AgentBrokerAccount): Promise<void> {
    // Deleting the client disconnects it at once (dynsec kicks by user name).
    await this.run([{ command: 'deleteClient', username: account.username }], ['Client not found']);
    await this.run([{ command: 'deleteRole', rolename: `${AGENT_ROLE_PREFIX}${account.schoolId}:${account.agentId}` }], ['Role not found']);
  }

  /** Every reflector shares one role (they may do the same things); each has its own client. */
  async grantReflector(account: ReflectorBrokerAccount, password: string): Promise<void> {
    await this.ensureRole(REFLECTOR_ROLE, reflectorAcls());
    await this.ensureClient({ username: account.username, password, clientid: account.clientId, roles: [REFLECTOR_ROLE] });
  }

  async revokeReflector(account: ReflectorBrokerAccount): Promise<void> {
    await this.run([{ command: 'deleteClient', username: account.username }], ['Client not found']);
  }

  /** User names of the broker's agent clients (those the cloud created), for reconciling with the database. */
  async agentUsernames(): Promise<string[]> {
    const [response] = await this.run([{ command: 'listRoles', verbose: false, count: -1, offset: 0 }]);
    const roles = ((response?.data as { roles?: unknown[] } | undefined)?.roles ?? []).filter((role): role is string => typeof role === 'string');
    return roles.filter((role) => role.startsWith(AGENT_ROLE_PREFIX)).map((role) => role.slice(AGENT_ROLE_PREFIX.length));
  }

  async close(): Promise<void> {
    for (const [id, pending] of this.waiting) {
      clearTimeout(pending.timer);
      pending.reject(new Error('the dynamic-security connection closed'));
      this.waiting.delete(id);
    }
    await this.client.endAsync();
  }

  private async ensureRole(rolename: string, acls: ReturnType<typeof agentAcls>): Promise<void> {
    const [created] = await this.run([{ command: 'createRole', rolename, acls }], ['Role already exists']);
    if (created?.error === 'Role already exists') {
      // An existing role gets any ACL this version wants that it lacks.
      for (const acl of acls) await this.run([{ command: 'addRoleACL', rolename, ...acl }], ['ACL with this topic already exists']);
    }
  }

  private async ensureClient(client: { username: string; password: string; clientid?: string; roles: string[] }): Promise<void> {
    const roles = client.roles.map((rolename) => ({ rolename, priority: 0 }));
    const [created] = await this.run([{ command: 'createClient', username: client.username, password: client.password, ...(client.clientid ? { clientid: client.clientid } : {}), roles }], ['Client already exists']);
    if (created?.error === 'Client already exists') {
      await this.run([{ command: 'modifyClient', username: client.username, ...(client.clientid ? { clientid: client.clientid } : {}), roles }]);
      // setClientPassword also disconnects a connection still using the old password.
      await this.run([{ command: 'setClientPassword', username: client.username, password: client.password }]);
    }
  }

  /** Sends commands and waits for each answer; an error not in `tolerated` fails the call (its message never holds a password). */
  private async run(commands: DynsecCommand[], tolerated: readonly string[] = []): Promise<DynsecResponse[]> {
    const withIds = commands.map((command) => ({ ...command, correlationData: randomUUID() }));
    const answers = withIds.map(
      (command) =>
        new Promise<DynsecResponse>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.waiting.delete(command.correlationData);
            reject(new AvcareError('BROKER_ACCESS_FAILED', `the broker did not answer "${command.command}" within ${this.timeoutMs} ms: is the dynamic-security plugin loaded?`));
          }, this.timeoutMs);
          this.waiting.set(command.correlationData, { resolve, reject, timer });
        }),
    );
    try {
      await this.client.publishAsync(CONTROL_TOPIC, JSON.stringify({ commands: withIds }), { qos: 1 });
    } catch (error) {
      for (const command of withIds) {
        const pending = this.waiting.get(command.correlationData);
        if (pending) clearTimeout(pending.timer);
        this.waiting.delete(command.correlationData);
      }
      throw new AvcareError('BROKER_ACCESS_FAILED', `cannot send to the broker's dynamic security: ${(error as Error).message}`, {}, { cause: error });
    }
    const responses = await Promise.all(answers);
    for (const response of responses) {
      if (response.error !== undefined && !tolerated.includes(response.error)) {
        throw new AvcareError('BROKER_ACCESS_FAILED', `the broker refused "${response.command}": ${response.error}`, { command: response.command });
      }
    }
    return responses;
  }
}
