import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { silentLogger } from '../agent/log.js';
import { buildApp } from './app.js';
import { explainListenError } from './broker/port-errors.js';
import { startEmbeddedBroker } from './broker/embedded-broker.js';
import { parseCloudOptions, type CloudOptions, type CloudOptionsInput } from './cloud-options.js';
import { Collector } from './collector/collector.js';
import { EMPTY_SERVICE_CONFIG, loadServiceConfig, serviceDirectory, summariseServiceConfig } from './tickets/service-config.js';
import { WebhookDeliverer } from './webhooks/webhook-deliverer.js';
import { TicketEngine } from './tickets/ticket-engine.js';
import { startMqttFeed } from './collector/mqtt-feed.js';
import { CloudMetrics } from './metrics.js';
import { startRetentionTimer } from './retention-timer.js';
import { openStore, redactSpec } from './store/open-store.js';
import type { Store } from './store/store.js';

export type StartCloudOptions = CloudOptionsInput & {
  log?: Logger;
  /** How long to wait at start for an external broker before going on (the feed keeps retrying). */
  brokerWaitMs?: number;
};

export type MqttEndpoint = { mode: 'embedded'; url: string; port: number } | { mode: 'external'; url: string };

export interface RunningCloud {
  readonly options: CloudOptions;
  /** http://HOST:PORT/ as a person on this machine would open it. */
  readonly httpUrl: string;
  readonly httpPort: number;
  readonly mqtt: MqttEndpoint;
  /** The database, with any password masked. */
  readonly database: string;
  readonly store: Store;
  readonly metrics: CloudMetrics;
  readonly tickets: TicketEngine;
  /** Stops accepting, writes what was accepted, closes broker or feed, then the store. Idempotent. */
  stop(): Promise<void>;
}

/** Brokers and servers listen on every address with 0.0.0.0; a person on this machine reaches them on 127.0.0.1. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Composes the cloud: store (migrated) → collector → HTTP API → embedded broker or external
 * feed → hourly retention. What started is stopped again when a later step fails, so a taken
 * port leaves no half-open database or broker behind.
 */
export async function startCloud(input: StartCloudOptions = {}): Promise<RunningCloud> {
  const { log: baseLog = silentLogger, brokerWaitMs = 5_000, ...optionsInput } = input;
  const log = baseLog.child({ module: 'cloud' });
  const options = parseCloudOptions(optionsInput);
  const dataDir = resolve(options.dataDir);
  const spec = options.db ?? `sqlite:${join(dataDir, 'avcare.db')}`;
  const undo: (() => Promise<void>)[] = [];

  try {
    mkdirSync(dataDir, { recursive: true });
    const store = await openStore(spec, { dataDir, log: baseLog });
    undo.push(() => store.close());
    await store.migrate();

    const metrics = new CloudMetrics();
    const service = options.serviceConfig === undefined ? EMPTY_SERVICE_CONFIG : loadServiceConfig(options.serviceConfig);
    const directory = serviceDirectory(service);
    const tickets = new TicketEngine({ db: store.database, directory, log: baseLog });
    tickets.start();
    undo.push(() => tickets.stop());
    const webhooks = new WebhookDeliverer({ queue: tickets.webhookQueue, endpoints: () => directory.webhooks(), log: baseLog });
    webhooks.start();
    undo.push(() => webhooks.stop());
    const collector = new Collector({
      store,
      metrics,
      log: baseLog,
      // SQLite writes one transaction at a time anyway; PostgreSQL overlaps one batch's commit with the next.
      maxConcurrentBatches: store.dialect === 'postgres' ? 2 : 1,
      onCommitted: (result) => result.changed && tickets.notify(result.changed),
    });
    undo.push(() => collector.close());

    const app = buildApp({ store, metrics, log: baseLog, tickets });
    const httpPort = await listenHttp(app, options.httpPort, options.host);
    undo.push(() => app.close());

    let mqtt: MqttEndpoint;
    let closeTransport: () => Promise<void>;
    if (options.brokerUrl === undefined) {
      const broker = await startEmbeddedBroker({ port: options.mqttPort, host: options.host, collector, log: baseLog });
      mqtt = { mode: 'embedded', url: `mqtt://${reachableHost(options.host)}:${broker.port}`, port: broker.port };
      closeTransport = () => broker.close();
      undo.push(closeTransport);
    } else {
      const feed = startMqttFeed({
        url: options.brokerUrl,
        collector,
        log: baseLog,
        clientId: options.collectorId,
        ...(options.sharedGroup === undefined ? {} : { sharedGroup: options.sharedGroup }),
      });
      mqtt = { mode: 'external', url: redactSpec(options.brokerUrl) };
      closeTransport = () => feed.close();
      undo.push(closeTransport);
      if (!(await settlesWithin(feed.ready, brokerWaitMs))) {
        log.warn({ broker: mqtt.url, waitedMs: brokerWaitMs }, 'the external MQTT broker has not answered yet; still trying in the background');
      }
    }

    const retention = startRetentionTimer({ store, policy: options.retention, log: baseLog });
    const httpUrl = `http://${reachableHost(options.host)}:${httpPort}/`;
    log.info({ httpUrl, mqtt, database: redactSpec(spec), service: summariseServiceConfig(service) }, 'cloud started');

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= runInOrder(log, [
        ['retention timer', () => retention.stop()],
        ['HTTP API', () => app.close()],
        // Commit what is in flight while its senders are still connected, so they get their PUBACK and need not resend.
        ['collector flush', () => settlesWithin(collector.flush(), 5_000).then(() => undefined)],
        [mqtt.mode === 'embedded' ? 'embedded broker' : 'MQTT feed', closeTransport],
        ['collector', () => collector.close()],
        ['ticket engine', () => tickets.stop()],
        ['webhook deliverer', () => webhooks.stop()],
        ['store', () => store.close()],
      ]).then(() => log.info('cloud stopped')));

    return { options, httpUrl, httpPort, mqtt, database: redactSpec(spec), store, metrics, tickets, stop };
  } catch (error) {
    for (const step of undo.reverse()) {
      await step().catch((cleanupError: unknown) => log.warn({ err: cleanupError }, 'cleanup after a failed start failed'));
    }
    throw error;
  }
}

async function listenHttp(app: FastifyInstance, port: number, host: string): Promise<number> {
  try {
    await app.listen({ port, host });
  } catch (error) {
    await app.close();
    throw error instanceof Error ? explainListenError(error, { port, host, flag: '--port' }) : error;
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : port;
}

function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolveTimeout) => (timer = setTimeout(() => resolveTimeout(false), ms)));
  return Promise.race([work.then(() => true), timedOut]).finally(() => clearTimeout(timer));
}

/** Every step runs even when an earlier one failed: a broker that fails to close must not leave the database open. */
async function runInOrder(log: Logger, steps: [string, () => Promise<void>][]): Promise<void> {
  const failures: unknown[] = [];
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (error) {
      log.error({ err: error, step: name }, 'a shutdown step failed');
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} shutdown step(s) failed; see the log`);
}

/**
 * Stops the cloud on SIGINT or SIGTERM (Ctrl-C, systemd). A second signal, or a stop that hangs,
 * ends the process at once: an operator who presses Ctrl-C twice means it.
 */
export function stopOnSignals(cloud: Pick<RunningCloud, 'stop'>, log: Logger, options: { forceAfterMs?: number; onStopped?: () => void } = {}): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      log.warn({ signal }, 'second signal: exiting without finishing the shutdown');
      process.exit(130);
    }
    received = true;
    log.info({ signal }, 'stopping');
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, options.forceAfterMs ?? 15_000).unref();
    cloud.stop().then(
      () => options.onStopped?.(),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The lines printed when the cloud is up: where a person, Prometheus and the agents connect. */
export function describeCloud(cloud: RunningCloud): string {
  const brokerLine =
    cloud.mqtt.mode === 'embedded' ? `${cloud.mqtt.url}   (embedded broker: agents connect here)` : `${cloud.mqtt.url}   (external broker, subscribed)`;
  const listening = cloud.options.host === '0.0.0.0' ? '\n  (listening on every address of this machine)' : '';
  return [
    `  console   ${cloud.httpUrl}`,
    `  API       ${cloud.httpUrl}api/agents`,
    `  health    ${cloud.httpUrl}healthz`,
    `  metrics   ${cloud.httpUrl}metrics`,
    `  MQTT      ${brokerLine}`,
    `  database  ${cloud.database}${listening}`,
  ].join('\n');
}
