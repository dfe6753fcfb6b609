import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import type { Logger } from 'pino';
import { untrustedText } from '../../protocol/index.js';
import type { Collector } from '../collector/collector.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import { listenOn } from './port-errors.js';

export interface EmbeddedBrokerOptions {
  /** 0 lets the OS pick a free port; the one bound is returned. */
  port: number;
  host?: string;
  collector: Pick<Collector, 'accept'>;
  log: Logger;
}

export interface EmbeddedBroker {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The MQTT broker inside the cloud process (aedes, MQTT 3.1.1), so one school needs nothing else.
 *
 * Every publish is handed to the collector in aedes' `authorizePublish` hook and the hook calls
 * back only when the collector has committed it. aedes 1.2 (lib/handlers/publish.js) runs
 * authorizePublish before it writes the PUBACK of a QoS 1 publish, whereas `published` runs after
 * it: so the agent gets its PUBACK only once the event is in the database, and a crash of the
 * cloud before that makes the agent resend it from its outbox. Wills pass through the same hook
 * (lib/client.js), so a last-will "offline" is stored like any status.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = options.host ?? '0.0.0.0';
  const log = options.log.child({ module: 'embedded-broker' });
  const limitedLog = new RateLimitedLog(log);
  const { collector } = options;

  const authorizePublish: NonNullable<AedesOptions['authorizePublish']> = (client, packet, callback) => {
    // aedes' own default refuses $SYS from clients (it is where the broker announces itself); keep that.
    if (client && packet.topic.startsWith('$SYS')) {
      callback(new Error('$SYS topics are reserved for the broker'));
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    // A rejected (malformed, hostile) message resolves too: it is counted and acknowledged, so it is not resent
    // forever, and still forwarded so subscribers see what the broker saw.
    collector.accept(packet.topic, payload).then(
      () => callback(null),
      (error: unknown) => {
        // Only when the collector is closing: no PUBACK, the agent keeps the event and resends it.
        limitedLog.warn('not-stored', { err: error, topic: untrustedText(packet.topic, 128), clientId: client?.id }, 'publish not stored; the sender was not acknowledged');
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
  };

  const broker = await Aedes.createBroker({ authorizePublish });
  // aedes emits 'error' when its persistence fails; its typings omit the event, the EventEmitter base has it.
  const brokerEvents: EventEmitter = broker;
  brokerEvents.on('error', (error: Error) => log.error({ err: error }, 'broker error'));
  broker.on('clientError', (client, error) => log.debug({ clientId: client.id, err: error }, 'client error'));
  broker.on('connectionError', (client, error) => log.debug({ clientId: client.id, err: error }, 'connection error'));

  const server = createServer((socket) => broker.handle(socket));
  let port: number;
  try {
    port = await listenOn(server, { port: options.port, host, flag: '--mqtt-port' });
  } catch (error) {
    await closeBroker(broker);
    throw error;
  }
  server.on('error', (error) => log.error({ err: error }, 'MQTT listener error'));
  log.info({ host, port }, 'embedded MQTT broker listening');

  return {
    port,
    async close() {
      // Stop taking connections first; closing aedes then ends the open ones (and publishes their wills).
      const serverClosed = closeServer(server);
      await closeBroker(broker);
      await serverClosed;
    },
  };
}

function closeBroker(broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error && (error as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING' ? reject(error) : resolve())));
}
