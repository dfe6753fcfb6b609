import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { agentInboxFilter, agentMqttClientId, AvcareError, isLoopbackHost, topicFor } from '../../protocol/index.js';
import { trustedCas } from '../../protocol/http-json.js';
import type { AgentConfig } from '../config.js';
import { statusMessage } from '../events.js';
import type { Logger } from '../../protocol/log.js';
import { DEFAULT_BACKOFF, ReconnectBackoff, type BackoffPolicy } from './backoff.js';
import type { Outbox } from './outbox.js';

export interface MqttTransportOptions {
  identity: Pick<AgentConfig, 'agentId' | 'schoolId' | 'roomId'>;
  broker: AgentConfig['broker'] & { url: string };
  outbox: Outbox;
  log: Logger;
  backoff?: BackoffPolicy;
  /** Events published and not yet acknowledged at most; the rest wait in the outbox, not in memory. */
  inFlightWindow?: number;
  /** How long stop() waits for the backlog, the offline status and the disconnect. */
  stopTimeoutMs?: number;
  /**
   * While connected, look in the outbox this often for events another process enqueued
   * (`avcare-agent report` writes to the daemon's outbox and cannot wake() it). 0 turns it off.
   */
  outboxPollMs?: number;
  /**
   * The agent's status (retained online, offline on stop, offline as the last will); false for a
   * one-shot sender such as `avcare-agent report`, which is not the agent coming online.
   */
  announceStatus?: boolean;
  /** Defaults to mqttClientId(identity); a one-shot sender needs its own, or the broker would disconnect the daemon. */
  clientId?: string;
  /**
   * Messages addressed to this agent (its inbox, agentInboxFilter): subscribed on every
   * connection when given. The payload is untrusted until the handler parses it.
   */
  onInbox?: (topic: string, payload: Buffer) => void;
}

export interface TransportStatus {
  connected: boolean;
  /** The last connection error (refused, TLS verification, bad credentials), for doctor and tests. */
  lastError?: string;
  connects: number;
  inFlight: number;
}

const DEFAULT_IN_FLIGHT_WINDOW = 64;
const DEFAULT_STOP_TIMEOUT_MS = 2000;
/** One indexed read every 2 s while idle: nothing measurable, and a report goes out within seconds. */
const DEFAULT_OUTBOX_POLL_MS = 2000;

/** Shows where the agent publishes without the credentials a URL may carry. */
export function redactUrl(url: string): string {
  return url.replace(/^(mqtts?:\/\/)[^@/]*@/, '$1[redacted]@');
}

/**
 * The MQTT client id: one per agent, so a broker can tell agents apart and replace a stale
 * connection. The cloud's brokers accept an enrolled agent only with exactly this id.
 */
export function mqttClientId(identity: Pick<AgentConfig, 'agentId' | 'schoolId'>): string {
  return agentMqttClientId(identity.schoolId, identity.agentId);
}

/**
 * Publishes the outbox to the cloud's MQTT broker: on every connection a retained status online,
 * then the backlog in sequence order with QoS 1, each event deleted from the outbox only on its
 * PUBACK. What is unacknowledged when the connection drops stays in the outbox and is sent again
 * after the reconnect (the cloud de-duplicates by eventId). The last will announces a lost
 * connection; stop() announces a clean one itself.
 *
 * Reconnects are driven here, with a fresh MQTT.js client per attempt (reconnectPeriod 0): MQTT.js
 * reconnects at a fixed reconnectPeriod (no backoff, no jitter), and its reconnect() swaps in
 * empty message stores while the callbacks of unacknowledged QoS 1 publishes stay in
 * client.outgoing, never called. A fresh client starts from the outbox, the only copy that counts.
 */
export class MqttTransport {
  private readonly log: Logger;
  private readonly backoff: ReconnectBackoff;
  private readonly window: number;
  private readonly clientId: string;
  private readonly ca: string[] | undefined;
  private client: MqttClient | undefined;
  private generation = 0;
  private connectedAt: Date | undefined;
  private connected = false;
  private readonly inboxListening = new WeakSet<MqttClient>();
  private stopping = false;
  private connects = 0;
  private lastError: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly announceStatus: boolean;
  /** Seqs published on the current connection and not yet acknowledged. */
  private readonly inFlight = new Set<number>();
  /** The highest seq published on the current connection: next() reads after it. */
  private sentUpTo = 0;
  private acked: number[] = [];
  private ackFlush: NodeJS.Immediate | undefined;

  constructor(private readonly options: MqttTransportOptions) {
    this.log = options.log.child({ module: 'mqtt-transport' });
    this.backoff = new ReconnectBackoff(options.backoff ?? DEFAULT_BACKOFF);
    this.window = options.inFlightWindow ?? DEFAULT_IN_FLIGHT_WINDOW;
    this.clientId = options.clientId ?? mqttClientId(options.identity);
    this.announceStatus = options.announceStatus ?? true;
    this.ca = readCa(options.broker.url, options.broker.caFile);
    refuseCredentialsInClear(options.broker);
  }

  start(): void {
    this.connect();
  }

  /**
   * Publishes now, outside the outbox (QoS 1): for signalling, which is worth nothing later. Fails
   * at once when not connected, so a test reports "not connected" instead of waiting.
   */
  async publishNow(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) throw new AvcareError('MEASURE_TIMEOUT', `not connected to the broker${this.lastError === undefined ? '' : ` (${this.lastError})`}`);
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  /** New events are in the outbox: publish them now if connected (otherwise they wait there). */
  wake(): void {
    this.pump();
  }

  status(): TransportStatus {
    const status: TransportStatus = { connected: this.connected, connects: this.connects, inFlight: this.inFlight.size };
    if (this.lastError !== undefined) status.lastError = this.lastError;
    return status;
  }

  /**
   * Sends what it can of the backlog within the timeout, publishes status offline 'stopped', and
   * disconnects cleanly (so the broker does not publish the last will). Unsent events stay in the
   * outbox for the next start.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pollTimer);
    const client = this.client;
    const deadline = Date.now() + (this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    if (client && this.connected) {
      await waitFor(() => !this.connected || (this.inFlight.size === 0 && this.options.outbox.next(1, this.sentUpTo).length === 0), deadline);
      if (this.connected && this.announceStatus) await this.publishStopped(client, deadline);
      this.flushAcks();
      // A clean DISCONNECT makes the broker discard the last will; MQTT.js sends it once nothing is in flight.
      if (this.connected && (await withDeadline(client.endAsync(false), deadline))) {
        this.log.info('disconnected from broker');
        return;
      }
    }
    this.flushAcks();
    client?.end(true);
  }

  private connect(): void {
    if (this.stopping) return;
    const generation = ++this.generation;
    const { broker, identity } = this.options;
    // The will and this connection's "online" carry the same time: the store keeps the newer status
    // and lets "offline" win a tie, so a will built a few ms before its own "online" still counts.
    const connectedAt = new Date();
    this.connectedAt = connectedAt;
    const will = statusMessage(identity, 'offline', connectedAt, 'connection lost');
    const options: IClientOptions = {
      clientId: this.clientId,
      // The outbox, not a broker session, holds what is unsent: nothing is subscribed either.
      clean: true,
      // aedes (the cloud's embedded broker) speaks MQTT 3.1.1 only.
      protocolVersion: 4,
      keepalive: broker.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // MQTT.js would otherwise pre-build a Buffer for each of the 65,536 packet ids (~6 MB of heap)
      // to save an allocation per publish; an agent publishes a few messages a minute.
      writeCache: false,
    };
    if (this.announceStatus) options.will = { topic: this.statusTopic(), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true };
    if (broker.username !== undefined) options.username = broker.username;
    if (broker.password !== undefined) options.password = broker.password;
    if (this.ca) options.ca = this.ca;
    const client = mqtt.connect(broker.url, options);
    this.client = client;
    client.on('connect', () => {
      if (generation === this.generation) this.onConnect(client);
    });
    client.on('error', (error) => {
      if (generation === this.generation) this.onError(error);
    });
    client.on('close', () => {
      if (generation === this.generation) this.onClose(client);
    });
  }

  private onConnect(client: MqttClient): void {
    this.connected = true;
    this.connects += 1;
    this.backoff.connected(Date.now());
    this.lastError = undefined;
    this.log.info({ url: redactUrl(this.options.broker.url), clientId: this.clientId, pending: this.options.outbox.stats().pending }, 'connected to broker');
    if (this.announceStatus) {
      const online = statusMessage(this.options.identity, 'online', this.connectedAt ?? new Date());
      client.publish(this.statusTopic(), JSON.stringify(online), { qos: 1, retain: true }, (error) => {
        if (error && this.connected) this.log.warn({ err: error }, 'status online was not acknowledged');
      });
    }
    if (this.options.onInbox) this.subscribeInbox(client, this.options.onInbox);
    // Acknowledgements of the previous connection go first, so they are not sent again needlessly.
    this.flushAcks();
    this.sentUpTo = 0;
    this.pump();
    const pollMs = this.options.outboxPollMs ?? DEFAULT_OUTBOX_POLL_MS;
    clearInterval(this.pollTimer);
    if (pollMs > 0) {
      this.pollTimer = setInterval(() => {
        try {
          this.pump();
        } catch (error) {
          // A read that waited out the busy timeout: the next tick, or the next enqueue, tries again.
          this.log.warn({ err: error }, 'could not read the outbox');
        }
      }, pollMs);
      // A one-shot sender exits when its work is done, not when this timer says so.
      this.pollTimer.unref();
    }
  }

  /** A clean session forgets subscriptions: every connection subscribes again. */
  private subscribeInbox(client: MqttClient, onInbox: (topic: string, payload: Buffer) => void): void {
    const { identity } = this.options;
    const filter = agentInboxFilter(identity.schoolId, identity.agentId);
    // MQTT.js reconnects the same client and says 'connect' again: one listener per client, or
    // every message after a reconnect would be handled twice.
    if (!this.inboxListening.has(client)) {
      this.inboxListening.add(client);
      client.on('message', (topic, payload) => {
        if (client === this.client) onInbox(topic, payload);
      });
    }
    client.subscribe(filter, { qos: 1 }, (error, granted) => {
      if (error) this.log.warn({ err: error.message }, 'subscribing to the inbox failed');
      else if (granted?.some((grant) => grant.qos === 0x80)) this.log.warn({ filter }, 'the broker refused the inbox subscription');
    });
  }

  private onError(error: Error): void {
    // A broker that stays down repeats the same error every attempt: say it once, then quietly.
    const level = error.message === this.lastError ? 'debug' : 'warn';
    this.lastError = error.message;
    this.log[level]({ url: redactUrl(this.options.broker.url), err: error.message, hint: refusalHint(error, this.options.broker.username !== undefined) }, 'broker connection failed');
  }

  private onClose(client: MqttClient): void {
    const wasConnected = this.connected;
    this.connected = false;
    clearInterval(this.pollTimer);
    this.inFlight.clear();
    // Releases MQTT.js's own copies of unacknowledged publishes: the outbox still has them.
    client.end(true);
    if (this.stopping) return;
    if (wasConnected) this.backoff.disconnected(Date.now());
    const delayMs = this.backoff.nextDelayMs();
    if (wasConnected) this.log.warn({ reconnectInMs: delayMs, pending: this.options.outbox.stats().pending }, 'connection to broker lost');
    else this.log.debug({ reconnectInMs: delayMs, attempt: this.backoff.attempts }, 'broker unreachable, retrying');
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Publishes the oldest unsent events until the in-flight window is full or the outbox is drained. */
  private pump(): void {
    const client = this.client;
    if (!client || !this.connected) return;
    while (this.inFlight.size < this.window) {
      const entries = this.options.outbox.next(this.window - this.inFlight.size, this.sentUpTo);
      if (entries.length === 0) return;
      for (const entry of entries) {
        this.inFlight.add(entry.seq);
        this.sentUpTo = entry.seq;
        client.publish(entry.topic, entry.payload, { qos: 1, retain: entry.retain }, (error) => this.onPublished(client, entry.seq, error));
      }
    }
  }

  private onPublished(client: MqttClient, seq: number, error: Error | undefined): void {
    if (error) {
      // The connection closed before the PUBACK: the event stays in the outbox and goes again.
      this.log.debug({ seq, err: error.message }, 'publish not acknowledged');
      return;
    }
    if (client === this.client) this.inFlight.delete(seq);
    this.acked.push(seq);
    this.ackFlush ??= setImmediate(() => {
      this.ackFlush = undefined;
      this.flushAcks();
      this.pump();
    });
  }

  /** Deletes acknowledged events in one transaction per batch of PUBACKs. */
  private flushAcks(): void {
    if (this.acked.length === 0) return;
    const seqs = this.acked;
    this.acked = [];
    try {
      this.options.outbox.ackMany(seqs);
    } catch (error) {
      // The events stay in the outbox and are published again: a duplicate, which the cloud drops.
      this.log.error({ err: error, count: seqs.length }, 'could not delete acknowledged events from the outbox');
    }
  }

  private async publishStopped(client: MqttClient, deadline: number): Promise<void> {
    const offline = statusMessage(this.options.identity, 'offline', new Date(), 'stopped');
    const sent = await withDeadline(client.publishAsync(this.statusTopic(), JSON.stringify(offline), { qos: 1, retain: true }), deadline);
    if (!sent) this.log.warn('status offline was not acknowledged before the stop timeout');
  }

  private statusTopic(): string {
    const { identity } = this.options;
    return topicFor({ school: identity.schoolId, room: identity.roomId, agent: identity.agentId, kind: 'status' });
  }
}

/**
 * For mqtts the broker's certificate is verified against Node's CAs, the system's and the
 * configured broker.caFile (a school's private CA): verified, never pinned, so it can be renewed.
 */
function readCa(url: string, caFile: string | undefined): string[] | undefined {
  if (!url.startsWith('mqtts:')) return undefined;
  try {
    return trustedCas(caFile);
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read broker.caFile ${caFile ?? ''}: ${(error as Error).message}`, { file: caFile }, { cause: error });
  }
}

/** Resolves true if the promise settles successfully before the deadline, false otherwise. */
async function withDeadline(promise: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([promise.then(() => true, () => false), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(condition: () => boolean, deadline: number): Promise<void> {
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** What a person should do when the broker refuses this agent (CONNACK 4 or 5, as MQTT.js words them). */
function refusalHint(error: Error, hasCredentials: boolean): string | undefined {
  if (!/not authorized|bad user ?name or password|identifier rejected/i.test(error.message)) return undefined;
  return hasCredentials
    ? 'the cloud refuses these credentials: this agent may have been revoked; enroll again with a new token (avcare-agent enroll)'
    : 'the cloud accepts enrolled agents only: enroll this PC (avcare-agent enroll --cloud URL --token TOKEN)';
}

/**
 * The agent's secret never crosses a network in clear: over mqtt:// (not mqtts) it goes to this
 * machine only, unless broker.insecurePlaintext says the network is trusted.
 */
function refuseCredentialsInClear(broker: MqttTransportOptions['broker']): void {
  if (broker.password === undefined || broker.insecurePlaintext) return;
  let url: URL;
  try {
    url = new URL(broker.url);
  } catch {
    // An unparsable URL fails at connect with MQTT.js's own message.
    return;
  }
  if (url.protocol === 'mqtt:' && !isLoopbackHost(url.hostname)) {
    throw new AvcareError('INSECURE_TRANSPORT', `the broker password would cross the network in clear to ${url.host}: use mqtts:// (broker.caFile for a private CA), or set broker.insecurePlaintext on a trusted network`, { host: url.host });
  }
}
