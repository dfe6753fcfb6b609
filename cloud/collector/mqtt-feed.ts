import mqtt, { type IPublishPacket } from 'mqtt';
import type { Logger } from 'pino';
import { topicFilter } from '../../protocol/index.js';
import type { Collector } from './collector.js';
import { RateLimitedLog } from './rate-limited-log.js';

export interface MqttFeedOptions {
  /** mqtt://HOST:PORT (or mqtts://) of an external broker such as Mosquitto. */
  url: string;
  collector: Pick<Collector, 'accept'>;
  log: Logger;
  /** Fixed, so the broker keeps this subscriber's session and queues for it while it is away. */
  clientId?: string;
  /**
   * 5 (the default) lets the collector set its own Receive Maximum; 4 leaves the window to the
   * broker's max_inflight_messages (Mosquitto: 20 unless configured).
   */
  protocolVersion?: 4 | 5;
  /**
   * MQTT 5 only: how many unacknowledged messages the broker may send at once (default 1,000).
   * The collector acknowledges a message only after its batch commits, so a batch can never hold
   * more than this window: with Mosquitto's default of 20 every commit carried ~20 messages and
   * its fixed cost (a WAL write, the agents upsert) dominated the cost per message.
   */
  receiveMaximum?: number;
  /**
   * The most messages the feed holds received and not yet acknowledged (default 2,000): at the
   * limit it keeps MQTT.js from taking the next packet until half have been committed; MQTT.js
   * then stops reading the socket and TCP holds the broker back.
   * The broker's own window is not enough: Mosquitto before 2.0.13 (Debian 12 ships 2.0.11)
   * stops counting it once acknowledgements flow and sends a whole queued backlog at once
   * (bench:ingest saw 28,500 messages held, 280 MB).
   */
  maxUnacknowledged?: number;
  /**
   * Several collectors share one stream: the broker hands each message to one member of the group
   * ($share/GROUP/filter; Mosquitto does this for MQTT 3.1.1 clients too). The store's eventId
   * de-duplication and the tickets' unique index keep rows exactly-once whichever member takes it.
   */
  sharedGroup?: string;
  /** The collector's own broker account (Mosquitto dynamic security); never an agent's. */
  username?: string;
  password?: string;
  /** CA certificate (PEM) to verify an mqtts:// broker. */
  ca?: Buffer;
  /** How long close() waits for messages already handed to the collector to be committed and acknowledged. */
  drainTimeoutMs?: number;
  reconnectPeriodMs?: number;
}

export interface MqttFeed {
  /** Resolves once connected and subscribed for the first time. */
  readonly ready: Promise<void>;
  /** The cloud speaking to agents (their inboxes), QoS 1, over the collector's connection. */
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * MQTT.js has no public way to send a QoS 1 PUBACK later without stopping the whole connection:
 * `handleMessage` defers the PUBACK but handles "one at a time" (lib/client.js `work` takes the
 * next packet only after the PUBACK of this one), and `customHandleAcks` is MQTT 5 only and just
 * as serial. One message per database batch would cap the collector at ~40 msg/s. So the feed
 * answers `handleMessage` at once with this marker error, which makes MQTT.js skip its own PUBACK
 * (lib/handlers/publish.js: `if (err) return done(err)`) and move on, and writes the PUBACK
 * itself through `_sendPacket` once the collector has committed the message.
 */
class AckDeferred extends Error {
  constructor() {
    super('PUBACK deferred until the collector has committed the message');
  }
}
const ACK_DEFERRED = new AckDeferred();

interface PacketSender {
  _sendPacket(packet: { cmd: 'puback'; messageId: number; reasonCode?: number }, callback?: (error?: Error) => void): void;
}

/**
 * Subscribes the collector to an external broker with a persistent session (clean: false, fixed
 * client id, QoS 1), and acknowledges each message only after the collector resolved it: stored,
 * duplicate, or rejected. A collector killed at any moment loses nothing; the broker redelivers
 * what was not acknowledged and the store de-duplicates it.
 */
export function startMqttFeed(options: MqttFeedOptions): MqttFeed {
  const log = options.log.child({ module: 'mqtt-feed' });
  const limitedLog = new RateLimitedLog(log);
  const protocolVersion = options.protocolVersion ?? 5;
  const { collector } = options;
  const broker = describeBroker(options.url);
  const filter = options.sharedGroup === undefined ? topicFilter('+') : `$share/${options.sharedGroup}/${topicFilter('+')}`;

  const client = mqtt.connect(options.url, {
    clientId: options.clientId ?? 'avcare-collector',
    clean: false,
    protocolVersion,
    // MQTT 5 ends a session at disconnect unless the client asks otherwise; keep it like MQTT 3.1.1 does.
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 0xffffffff, receiveMaximum: options.receiveMaximum ?? 1_000 } } : {}),
    reconnectPeriod: options.reconnectPeriodMs ?? 1_000,
    // Subscribed by hand on connect, only when the broker has no session for us (see below).
    resubscribe: false,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  const sender = client as unknown as Partial<PacketSender>;
  if (typeof sender._sendPacket !== 'function') {
    client.end(true);
    throw new Error('the installed MQTT.js has no _sendPacket: the collector could not acknowledge messages after committing them');
  }
  const sendPacket = sender._sendPacket.bind(client);

  /** Bumped on every connect and close: an acknowledgement belongs to the connection its message came on. */
  let connection = 0;
  const maxHeld = options.maxUnacknowledged ?? 2_000;
  let held = 0;
  /** At the limit: lets MQTT.js take the next packet (it takes none until this is called). */
  let takeNext: (() => void) | undefined;
  const release = (): void => {
    held -= 1;
    if (takeNext && held <= maxHeld / 2) {
      const next = takeNext;
      takeNext = undefined;
      next();
    }
  };
  /** Settles once every message received so far is acknowledged (or will never be). */
  let ackTail: Promise<void> = Promise.resolve();
  let closing = false;
  const inFlight = new Set<Promise<void>>();

  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  client.on('connect', (connack) => {
    connection += 1;
    log.info({ broker, sessionPresent: connack.sessionPresent }, 'connected to the MQTT broker');
    if (connack.sessionPresent) {
      markReady();
      return;
    }
    // A fresh session (first start, or the broker lost it): subscribing again with a session present would
    // only make the broker resend every retained message.
    client.subscribe(filter, { qos: 1 }, (error, granted) => {
      if (error) {
        log.error({ err: error, broker }, 'subscribing failed; retrying on the next connection');
        client.reconnect();
        return;
      }
      if (granted?.some((grant) => grant.qos === 0x80)) {
        log.error({ broker, topic: filter }, 'the broker refused the subscription; check its ACL for the collector');
        return;
      }
      log.info({ granted: granted?.map((grant) => ({ topic: grant.topic, qos: grant.qos })) }, 'subscribed');
      markReady();
    });
  });
  client.on('close', () => {
    connection += 1;
    // What this connection held, the broker sends again on the next one.
    held = 0;
    const next = takeNext;
    takeNext = undefined;
    next?.();
  });
  client.on('reconnect', () => limitedLog.info('reconnect', { broker }, 'reconnecting to the MQTT broker'));
  client.on('error', (error) => limitedLog.warn('mqtt-error', { err: error, broker }, 'MQTT connection error'));

  client.handleMessage = (packet: IPublishPacket, callback) => {
    if (closing) {
      // Neither stored nor acknowledged: the broker keeps it in our session for the next start.
      callback(ACK_DEFERRED);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (packet.qos !== 1) {
      // No acknowledgement to hold back (QoS 2 cannot arrive through a QoS 1 subscription).
      track(collector.accept(packet.topic, payload).then(
        () => undefined,
        (error: unknown) => limitedLog.warn('not-stored', { err: error }, 'a QoS 0 message could not be stored'),
      ));
      callback();
      return;
    }
    const { messageId } = packet;
    const receivedOn = connection;
    held += 1;
    if (held >= maxHeld) takeNext = () => callback(ACK_DEFERRED);
    else callback(ACK_DEFERRED);
    // PUBACKs leave in the order the PUBLISHes came (MQTT 3.1.1 section 4.6), also when the
    // collector commits two batches at once and the later one finishes first.
    const previous = ackTail;
    const acknowledged = collector
      .accept(packet.topic, payload)
      .then(
        async () => {
          await previous;
          acknowledge(messageId, receivedOn);
        },
        (error: unknown) => limitedLog.warn('not-stored', { err: error }, 'message not stored and not acknowledged; the broker will send it again'),
      )
      .finally(() => {
        if (receivedOn === connection) release();
      });
    ackTail = acknowledged;
    track(acknowledged);
  };

  function acknowledge(messageId: number | undefined, receivedOn: number): void {
    if (messageId === undefined) return;
    // On a newer connection the broker resends unacknowledged messages itself, possibly under the same id:
    // acknowledging there could acknowledge a message that is not yet committed.
    if (receivedOn !== connection || !client.connected) return;
    sendPacket({ cmd: 'puback', messageId, ...(protocolVersion === 5 ? { reasonCode: 0 } : {}) }, (error) => {
      if (error) limitedLog.warn('puback', { err: error }, 'sending a PUBACK failed; the broker will send the message again');
    });
  }

  function track(work: Promise<void>): void {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  return {
    ready,
    async publish(topic: string, payload: Buffer): Promise<void> {
      await client.publishAsync(topic, payload, { qos: 1 });
    },
    async close() {
      closing = true;
      const drained = Promise.all([...inFlight]).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), options.drainTimeoutMs ?? 5_000)));
      const complete = await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      if (!complete) log.warn({ pending: inFlight.size }, 'closing with messages not yet committed; the broker will send them again');
      await client.endAsync();
    },
  };
}

/** scheme://host:port only: a URL may carry a password, which never goes into a log line. */
function describeBroker(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch (error) {
    if (error instanceof TypeError) return '(unparsable broker URL)';
    throw error;
  }
}
