import type { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import type { Logger } from 'pino';
import { untrustedText } from '../../protocol/index.js';
import type { Collector } from '../collector/collector.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import type { CloudMetrics } from '../metrics.js';
import { credentialsAllowed, type TlsFiles } from '../transport-security.js';
import { subjectMayPublish, subjectMaySubscribe, type BrokerSubject } from './agent-acl.js';
import type { AgentBrokerAccount, BrokerAccess, ReflectorBrokerAccount } from './broker-access.js';
import { listenOn } from './port-errors.js';

/** Who may connect: enrolled agents and reflector accounts checked against the database, or (explicitly) anyone. */
export type BrokerAuthentication =
  | { mode: 'agents'; verify(username: string, password: string): Promise<(BrokerSubject & { clientId: string }) | undefined> }
  | { mode: 'open' };

export interface EmbeddedBrokerOptions {
  /** 0 lets the OS pick a free port; the one bound is returned. */
  port: number;
  host?: string;
  collector: Pick<Collector, 'accept'>;
  log: Logger;
  authentication: BrokerAuthentication;
  metrics?: CloudMetrics;
  /** With a certificate the broker also serves mqtts on `tlsPort` (default 8883). */
  tls?: TlsFiles;
  tlsPort?: number;
  /** `--insecure-plaintext`: agents' secrets accepted over plain MQTT from other machines too. */
  allowPlaintextCredentials?: boolean;
  /** Told of each publish or subscription refused to an authenticated client (the audit log keeps them, bounded). */
  onRefused?: (refusal: { what: 'publish' | 'subscribe'; subject: BrokerSubject; topic: string }) => void;
  /** Refusals of one client a minute before it is disconnected and kept out for `coolDownMs` (10 and 60 s). */
  refusalLimits?: { perMinute: number; coolDownMs: number };
}

export interface EmbeddedBroker extends BrokerAccess {
  readonly port: number;
  readonly tlsPort: number | undefined;
  /** The cloud speaking to agents (their inboxes): QoS 1, delivered to whoever subscribed. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** MQTT 3.1.1 CONNACK codes (section 3.2.2.3). */
const CONNACK = { identifierRejected: 2, badCredentials: 4, notAuthorized: 5 } as const;

function refusal(returnCode: number, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

/**
 * The MQTT broker inside the cloud process (aedes, MQTT 3.1.1), so one school needs nothing else.
 *
 * Access: every connection authenticates as an enrolled agent (user name and secret, checked in
 * the database on each connect, with the one client id that agent may use); anonymous ones are
 * refused unless the cloud runs with `--insecure-open-broker`. An agent publishes only under its
 * own topics and subscribes only to what is addressed to it; a publish elsewhere closes its
 * connection (MQTT 3.1.1 has no other way to refuse one), a subscription elsewhere gets a
 * failure in its SUBACK. Secrets are refused on plain connections from other machines.
 *
 * Every allowed publish is handed to the collector in aedes' `authorizePublish` hook, with the
 * authenticated sender, and the hook calls back only when the collector has committed it. aedes
 * 1.2 (lib/handlers/publish.js) runs authorizePublish before it writes the PUBACK of a QoS 1
 * publish: so the agent gets its PUBACK only once the event is in the database, and a crash of
 * the cloud before that makes the agent resend it from its outbox. Wills pass through the same
 * hook (lib/client.js), so a last-will "offline" is checked and stored like any status.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = options.host ?? '0.0.0.0';
  const log = options.log.child({ module: 'embedded-broker' });
  const limitedLog = new RateLimitedLog(log);
  const { collector, authentication } = options;
  const subjects = new WeakMap<Client, BrokerSubject>();
  const refused = (what: 'connect' | 'publish' | 'subscribe', reason: string): void => options.metrics?.brokerRefused.inc({ what, reason });
  const repeated = new RepeatedRefusals(options.refusalLimits ?? { perMinute: 10, coolDownMs: 60_000 });

  const authenticate: NonNullable<AedesOptions['authenticate']> = (client, username, password, callback) => {
    if (authentication.mode === 'open') {
      callback(null, true);
      return;
    }
    const conn = client.conn as Socket;
    const remoteAddress = conn.remoteAddress;
    if (username === undefined || password === undefined) {
      refused('connect', 'anonymous');
      limitedLog.warn('anonymous', { remoteAddress }, 'refused an MQTT connection without credentials: agents connect with the credentials they got at enrollment');
      callback(refusal(CONNACK.notAuthorized, 'not authorized'), false);
      return;
    }
    if (!credentialsAllowed({ allowPlaintextCredentials: options.allowPlaintextCredentials ?? false }, { encrypted: conn instanceof TLSSocket, remoteAddress })) {
      refused('connect', 'plaintext');
      limitedLog.warn('plaintext', { remoteAddress }, 'refused credentials sent over plain MQTT from another machine: agents must use mqtts (start the cloud with --tls-cert/--tls-key)');
      callback(refusal(CONNACK.notAuthorized, 'not authorized'), false);
      return;
    }
    authentication.verify(username, password.toString('utf8')).then(
      (identity) => {
        if (!identity) {
          refused('connect', 'bad-credentials');
          limitedLog.warn('bad-credentials', { remoteAddress, username: untrustedText(username, 128) }, 'refused an MQTT connection: unknown user, wrong secret or revoked agent');
          callback(refusal(CONNACK.badCredentials, 'bad user name or password'), false);
          return;
        }
        if (client.id !== identity.clientId) {
          // Another agent's client id would let it take over (disconnect) that agent's session.
          refused('connect', 'client-id');
          limitedLog.warn('client-id', { remoteAddress, username, clientId: untrustedText(client.id, 128) }, 'refused an MQTT connection with a client id that is not the agent\'s own');
          callback(refusal(CONNACK.identifierRejected, 'identifier rejected'), false);
          return;
        }
        const subject: BrokerSubject = identity.kind === 'agent' ? { kind: 'agent', schoolId: identity.schoolId, agentId: identity.agentId } : { kind: 'reflector', reflectorId: identity.reflectorId };
        const coolingDown = repeated.coolingDownFor(subject);
        if (coolingDown > 0) {
          // Disconnected for repeated refusals: reconnecting at once must not start another round.
          refused('connect', 'cooling-down');
          limitedLog.warn('cooling-down', { remoteAddress, username }, 'refused an MQTT connection of a client disconnected for repeated refusals; it may come back later');
          callback(refusal(CONNACK.notAuthorized, 'not authorized'), false);
          return;
        }
        subjects.set(client, subject);
        callback(null, true);
      },
      (error: unknown) => {
        // The database cannot answer: refuse for now, the agent retries with backoff.
        limitedLog.error('verify-failed', { err: error }, 'checking MQTT credentials failed; the connection was refused');
        callback(refusal(CONNACK.notAuthorized, 'server unavailable'), false);
      },
    );
  };

  const authorizePublish: NonNullable<AedesOptions['authorizePublish']> = (client, packet, callback) => {
    // aedes' own default refuses $SYS from clients (it is where the broker announces itself); keep that.
    if (client && packet.topic.startsWith('$SYS')) {
      callback(new Error('$SYS topics are reserved for the broker'));
      return;
    }
    const subject = client ? subjects.get(client) : undefined;
    if (authentication.mode === 'agents' && client && (!subject || !subjectMayPublish(subject, packet.topic))) {
      refused('publish', 'not-own-topic');
      if (subject) {
        options.onRefused?.({ what: 'publish', subject, topic: packet.topic });
        repeated.note(subject);
      }
      limitedLog.warn('publish-denied', { clientId: untrustedText(client.id, 128), topic: untrustedText(packet.topic, 128) }, 'a client published outside its own topics; its connection is closed');
      callback(new Error('not authorized to publish there'));
      return;
    }
    if (subject?.kind === 'reflector') {
      // A reflector's answer into an agent's signalling inbox: nothing for the collector to store.
      callback(null);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // A rejected (malformed, hostile) message resolves too: it is counted and acknowledged, so it is not resent
    // forever, and still forwarded so subscribers see what the broker saw.
    collector.accept(packet.topic, payload, subject === undefined ? undefined : { schoolId: subject.schoolId, agentId: subject.agentId }).then(
      () => callback(null),
      (error: unknown) => {
        // Only when the collector is closing: no PUBACK, the agent keeps the event and resends it.
        limitedLog.warn('not-stored', { err: error, topic: untrustedText(packet.topic, 128), clientId: client?.id }, 'publish not stored; the sender was not acknowledged');
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
  };

  const authorizeSubscribe: NonNullable<AedesOptions['authorizeSubscribe']> = (client, subscription, callback) => {
    if (authentication.mode === 'open') {
      callback(null, subscription);
      return;
    }
    const subject = subjects.get(client);
    if (!subject || !subjectMaySubscribe(subject, subscription.topic)) {
      refused('subscribe', 'not-own-inbox');
      if (subject) options.onRefused?.({ what: 'subscribe', subject, topic: subscription.topic });
      limitedLog.warn('subscribe-denied', { clientId: untrustedText(client.id, 128), topic: untrustedText(subscription.topic, 128) }, 'a client subscribed outside what it may read; refused');
      // null: a failure code (0x80) in the SUBACK for this filter; the connection stays, unless it keeps trying.
      callback(null, null);
      if (subject && repeated.note(subject)) {
        log.warn({ clientId: untrustedText(client.id, 128) }, 'a client was refused again and again; it is disconnected and kept out for a while');
        setImmediate(() => client.close());
      }
      return;
    }
    callback(null, subscription);
  };

  const broker = await Aedes.createBroker({ authenticate, authorizePublish, authorizeSubscribe });
  // aedes emits 'error' when its persistence fails; its typings omit the event, the EventEmitter base has it.
  const brokerEvents: EventEmitter = broker;
  brokerEvents.on('error', (error: Error) => log.error({ err: error }, 'broker error'));
  broker.on('clientError', (client, error) => log.debug({ clientId: client.id, err: error }, 'client error'));
  broker.on('connectionError', (client, error) => log.debug({ clientId: client.id, err: error }, 'connection error'));

  const disconnect = (account: { clientId: string }, message: string): void => {
    // aedes keeps connected clients by id (aedes.js `this.clients`); its typings leave the map out.
    const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[account.clientId];
    if (!client) return;
    log.info({ clientId: account.clientId }, message);
    client.close();
  };

  const servers: Server[] = [];
  let port: number;
  let tlsPort: number | undefined;
  try {
    const server = createServer((socket) => broker.handle(socket));
    servers.push(server);
    port = await listenOn(server, { port: options.port, host, flag: '--mqtt-port' });
    if (options.tls) {
      const tlsServer = createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, (socket) => broker.handle(socket));
      servers.push(tlsServer);
      tlsPort = await listenOn(tlsServer, { port: options.tlsPort ?? 8883, host, flag: '--mqtts-port' });
    }
  } catch (error) {
    await Promise.all(servers.map((server) => closeServer(server)));
    await closeBroker(broker);
    throw error;
  }
  for (const server of servers) server.on('error', (error) => log.error({ err: error }, 'MQTT listener error'));
  if (authentication.mode === 'open') {
    log.warn({ host, port }, 'the embedded MQTT broker accepts ANYONE (--insecure-open-broker): any device on the network can publish as any agent');
  }
  log.info({ host, port, tlsPort, authentication: authentication.mode }, 'embedded MQTT broker listening');

  return {
    port,
    tlsPort,
    description: authentication.mode === 'open' ? 'embedded broker, OPEN to anonymous clients' : 'embedded broker: enrolled agents only, each on its own topics (and reflector accounts on signalling)',
    // The database is the broker's account list: an enrolled agent can connect at once. A connection
    // still using the agent's previous secret is dropped, as Mosquitto does when a password changes.
    grantAgent(account: AgentBrokerAccount): Promise<void> {
      disconnect(account, 'agent given new credentials; its old connection was dropped');
      return Promise.resolve();
    },
    revokeAgent(account: AgentBrokerAccount): Promise<void> {
      disconnect(account, 'revoked agent disconnected');
      return Promise.resolve();
    },
    grantReflector(account: ReflectorBrokerAccount): Promise<void> {
      disconnect(account, 'reflector given a new secret; its old connection was dropped');
      return Promise.resolve();
    },
    revokeReflector(account: ReflectorBrokerAccount): Promise<void> {
      disconnect(account, 'revoked reflector disconnected');
      return Promise.resolve();
    },
    publish(topic: string, payload: Buffer): Promise<void> {
      return new Promise((resolve, reject) => broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) => (error ? reject(error) : resolve())));
    },
    async close() {
      // Stop taking connections first; closing aedes then ends the open ones (and publishes their wills).
      const serversClosed = Promise.all(servers.map((server) => closeServer(server)));
      await closeBroker(broker);
      await serversClosed;
    },
  };
}

/**
 * Counts refusals per client identity over a minute. Past the limit the client is disconnected and
 * its reconnections are refused for a cool-down: a PC's stolen credentials cannot keep a broker
 * busy refusing (and auditing) at line rate. Well-behaved agents never get here.
 */
class RepeatedRefusals {
  private readonly counts = new Map<string, { startedAt: number; count: number }>();
  private readonly coolUntil = new Map<string, number>();

  constructor(private readonly limits: { perMinute: number; coolDownMs: number }) {}

  /** Counts one refusal; true when that one crossed the limit (disconnect now). */
  note(subject: BrokerSubject, now = Date.now()): boolean {
    const key = subjectKey(subject);
    let entry = this.counts.get(key);
    if (!entry || now - entry.startedAt >= 60_000) {
      entry = { startedAt: now, count: 0 };
      this.counts.delete(key);
      this.counts.set(key, entry);
      // Bounded: the oldest windows go first.
      while (this.counts.size > 10_000) {
        const oldest = this.counts.keys().next().value;
        if (oldest === undefined) break;
        this.counts.delete(oldest);
      }
    }
    entry.count += 1;
    if (entry.count < this.limits.perMinute) return false;
    this.coolUntil.set(key, now + this.limits.coolDownMs);
    this.counts.delete(key);
    return true;
  }

  /** Milliseconds this identity is still kept out; 0 when it may connect. */
  coolingDownFor(subject: BrokerSubject, now = Date.now()): number {
    const key = subjectKey(subject);
    const until = this.coolUntil.get(key);
    if (until === undefined) return 0;
    if (until <= now) {
      this.coolUntil.delete(key);
      return 0;
    }
    return until - now;
  }
}

function subjectKey(subject: BrokerSubject): string {
  return subject.kind === 'agent' ? `agent:${subject.schoolId}:${subject.agentId}` : `reflector:${subject.reflectorId}`;
}

function closeBroker(broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve())));
}
