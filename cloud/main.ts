import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AvcareError } from '../protocol/index.js';
import { silentLogger } from '../protocol/log.js';
import { ensureFirstOperator, readPasswordFile, type FirstRun } from './accounts/first-run.js';
import type { LoginLimits } from './accounts/login-limiter.js';
import type { ScryptCost } from './accounts/password-hash.js';
import { builtConsoleDir } from './api/console-routes.js';
import { buildApp } from './app.js';
import { AuditAnchors } from './audit/audit-anchors.js';
import { AuditPruner } from './audit/audit-prune.js';
import { UNMANAGED_BROKER } from './broker/broker-access.js';
import { auditBrokerRefusals } from './broker/broker-refusals.js';
import { explainListenError } from './broker/port-errors.js';
import { startEmbeddedBroker } from './broker/embedded-broker.js';
import { MosquittoDynsec } from './broker/mosquitto-dynsec.js';
import { parseCloudOptions, type CloudOptions, type CloudOptionsInput } from './cloud-options.js';
import { Collector } from './collector/collector.js';
import { newSecret } from './identity/secret-token.js';
import { CloudSigningKey } from './identity/signing-key.js';
import { startMetricsListener } from './metrics-listener.js';
import { attachBroker, brokerLogins, createSecurity, type Security } from './security.js';
import { serviceDirectory, summariseServiceConfig } from './tickets/service-config.js';
import { chooseServiceConfig, type ServiceChoice } from './tickets/service-record.js';
import { WebhookDeliverer } from './webhooks/webhook-deliverer.js';
import { TicketEngine } from './tickets/ticket-engine.js';
import { startMqttFeed } from './collector/mqtt-feed.js';
import { MeasureGrants } from './measurements/measure-grants.js';
import { SignalRouter } from './measurements/signal-router.js';
import type { RemoteSessions } from './sessions/remote-sessions.js';
import { startSessions } from './sessions/start-sessions.js';
import { DEFAULT_SCHEDULE, startTestScheduler, TestPlanner } from './measurements/test-scheduler.js';
import { Reflector } from './reflector/reflector.js';
import { ProbeServer } from './reflector/probe-server.js';
import { agentSignalInbox, type CloudSignal, type MeasureTest } from '../protocol/measure-signal.js';
import { CloudMetrics } from './metrics.js';
import { startRetentionTimer } from './retention-timer.js';
import { openStore } from './store/open-store.js';
import { redactSpec } from './store/store-spec.js';
import type { Store } from './store/store.js';
import { readTlsFiles } from './transport-security.js';

/** Batches start at most this often unless full: under load each commit carries hundreds of events (bench:ingest), idle it adds at most this much latency. */
const COMMIT_INTERVAL_MS = 4;

export type StartCloudOptions = CloudOptionsInput & {
  log?: Logger;
  /** How long to wait at start for an external broker before going on (the feed keeps retrying). */
  brokerWaitMs?: number;
  /** Cheaper password hashing for tests; OWASP's scrypt cost otherwise. */
  scryptCost?: ScryptCost;
  loginLimits?: LoginLimits;
  /** How often session timeouts and expiries are checked (5 s unless a test needs it faster). */
  sessionSweepMs?: number;
};

export type MqttEndpoint = { mode: 'embedded'; url: string; port: number; tlsUrl?: string; tlsPort?: number } | { mode: 'external'; url: string };

export interface RunningCloud {
  readonly options: CloudOptions;
  /** http://HOST:PORT/ as a person on this machine would open it. */
  readonly httpUrl: string;
  readonly httpPort: number;
  /** Whether this installation has the web console built (dist/console) and serves it at httpUrl. */
  readonly consoleServed: boolean;
  readonly mqtt: MqttEndpoint;
  /** The database, with any password masked. */
  readonly database: string;
  readonly store: Store;
  readonly metrics: CloudMetrics;
  readonly tickets: TicketEngine;
  readonly security: Security;
  readonly sessions: RemoteSessions;
  /** The service configuration in use, and whether it was given, recorded by an earlier start, or none. */
  readonly service: Omit<ServiceChoice, 'config'> & { summary: Record<string, number>; schoolIds: string[] };
  /** What the first start on an empty database created: the operator and (once) its one-time password. */
  readonly firstRun: FirstRun;
  /** /metrics without a token, when --metrics-listen was given. */
  readonly metricsUrl: string | undefined;
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
  const { log: baseLog = silentLogger, brokerWaitMs = 5_000, scryptCost, loginLimits, sessionSweepMs, ...optionsInput } = input;
  const log = baseLog.child({ module: 'cloud' });
  const options = parseCloudOptions(optionsInput);
  const dataDir = resolve(options.dataDir);
  const spec = options.db ?? `sqlite:${join(dataDir, 'avcare.db')}`;
  const undo: (() => Promise<void>)[] = [];
  const tls = options.tlsCert !== undefined && options.tlsKey !== undefined ? readTlsFiles(options.tlsCert, options.tlsKey) : undefined;
  const scheme = tls ? 'https' : 'http';

  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const store = await openStore(spec, { dataDir, log: baseLog });
    undo.push(() => store.close());
    await store.migrate();

    const keyPath = resolve(options.signingKey ?? join(dataDir, 'signing-key.pem'));
    const { key: signingKey, created: keyCreated } = CloudSigningKey.loadOrCreate(keyPath);
    await signingKey.bindTo(store.database, keyPath);
    if (keyCreated) log.info({ keyPath, keyId: signingKey.keyId }, 'created the cloud signing key; back it up with the database');

    const metrics = new CloudMetrics();
    const serviceChoice = chooseServiceConfig(options.serviceConfig, dataDir);
    const service = serviceChoice.config;
    if (serviceChoice.origin === 'recorded') {
      // Said in the lines printed at start too (describeCloud); the log keeps it for a service's journal.
      log.info({ source: serviceChoice.source, recordedAt: serviceChoice.recordedAt, record: serviceChoice.recordFile }, 'no --service given: using the service configuration an earlier start recorded');
    }
    const directory = serviceDirectory(service);
    let agentMqttUrl: (host: string) => string = () => options.agentMqttUrl ?? '';
    const security = createSecurity({
      db: store.database,
      signingKey,
      directory,
      agentMqttUrl: (host) => agentMqttUrl(host),
      log: baseLog,
      metrics,
      allowPlaintextCredentials: options.insecurePlaintext,
      ...(options.metricsTokenFile === undefined ? {} : { metricsToken: readPasswordFile(options.metricsTokenFile) }),
      ...(scryptCost ? { scryptCost } : {}),
      ...(loginLimits ? { loginLimits } : {}),
    });

    const tickets = new TicketEngine({
      db: store.database,
      directory,
      log: baseLog,
      onPersonAction: (tx, action) =>
        security.audit.appendIn(tx, { actor: action.actor, action: `ticket.${action.action}`, target: `ticket:${action.ticketId}`, outcome: 'success', schoolId: action.schoolId, detail: action.detail }).then(() => undefined),
    });
    tickets.start();
    undo.push(() => tickets.stop());
    security.auditGuard.start();
    undo.push(() => security.auditGuard.stop());
    const webhooks = new WebhookDeliverer({ queue: tickets.webhookQueue, endpoints: () => directory.webhooks(), log: baseLog });
    webhooks.start();
    undo.push(() => webhooks.stop());
    const collector = new Collector({
      store,
      metrics,
      log: baseLog,
      // SQLite writes one transaction at a time anyway; PostgreSQL overlaps one batch's commit with the next.
      maxConcurrentBatches: store.dialect === 'postgres' ? 2 : 1,
      minCommitIntervalMs: COMMIT_INTERVAL_MS,
      onCommitted: (result) => result.changed && tickets.notify(result.changed),
    });
    undo.push(() => collector.close());

    // Tests' signalling is answered here: grants always, the media by the reflector of this process when it runs one.
    let publishToAgent: (topic: string, payload: Buffer) => Promise<void> = () => Promise.reject(new Error('the broker is not up yet'));
    const reflector = options.reflector.enabled ? await startLocalReflector(options, signingKey, (topic, payload) => publishToAgent(topic, payload), baseLog) : undefined;
    if (reflector) undo.push(() => reflector.close());
    const reflectorId = options.reflector.agentsUse ?? reflector?.id;
    const grants = new MeasureGrants({ signingKey, reflectorFor: () => reflectorId, log: baseLog });
    const remote = startSessions({ store, security, publish: (topic, payload) => publishToAgent(topic, payload), metrics, log: baseLog, ...(sessionSweepMs === undefined ? {} : { sweepMs: sessionSweepMs }) });
    undo.push(() => remote.stop());
    const inbound = remote.router.in(new SignalRouter({ grants, ...(reflector ? { reflector } : {}), publish: (topic, payload) => publishToAgent(topic, payload), log: baseLog, metrics }).in(collector));

    // The broker before the API: enrollment grants access at the broker, so it must be there.
    let mqtt: MqttEndpoint;
    let closeTransport: () => Promise<void>;
    if (options.brokerUrl === undefined) {
      const broker = await startEmbeddedBroker({
        port: options.mqttPort,
        host: options.host,
        collector: inbound,
        log: baseLog,
        metrics,
        authentication: options.insecureOpenBroker ? { mode: 'open' } : brokerLogins(security),
        allowPlaintextCredentials: options.insecurePlaintext,
        onRefused: auditBrokerRefusals(security.auditGuard, (error) => log.warn({ err: error }, 'could not audit a broker refusal')),
        ...(tls ? { tls, tlsPort: options.mqttsPort } : {}),
      });
      attachBroker(security, broker);
      publishToAgent = (topic, payload) => broker.publish(topic, payload);
      const host = reachableHost(options.host);
      mqtt = {
        mode: 'embedded',
        url: `mqtt://${host}:${broker.port}`,
        port: broker.port,
        ...(broker.tlsPort === undefined ? {} : { tlsUrl: `mqtts://${host}:${broker.tlsPort}`, tlsPort: broker.tlsPort }),
      };
      agentMqttUrl = (apiHost) => options.agentMqttUrl ?? (broker.tlsPort === undefined ? `mqtt://${urlHost(apiHost)}:${broker.port}` : `mqtts://${urlHost(apiHost)}:${broker.tlsPort}`);
      closeTransport = () => broker.close();
      undo.push(closeTransport);
    } else {
      const brokerUrl = options.brokerUrl;
      const ca = options.brokerCaFile === undefined ? undefined : readCaFile(options.brokerCaFile);
      let credentials: { username: string; password: string } | undefined;
      let dynsec: MosquittoDynsec | undefined;
      if (options.brokerUser !== undefined && options.brokerPasswordFile !== undefined) {
        dynsec = await MosquittoDynsec.connect({ url: brokerUrl, username: options.brokerUser, password: readPasswordFile(options.brokerPasswordFile), ...(ca ? { ca } : {}) }, baseLog);
        const opened = dynsec;
        undo.push(() => opened.close());
        await dynsec.secureDefaults();
        // A fresh secret at every start: the collector needs it only for its own connection, so it is never stored.
        credentials = { username: options.collectorId, password: newSecret('brokerSecret') };
        await dynsec.grantCollector(credentials.username, credentials.password);
        attachBroker(security, dynsec);
        await revokeAtBrokerWhatDatabaseRevoked(security, dynsec, log);
      } else {
        attachBroker(security, UNMANAGED_BROKER);
        log.warn({ broker: redactSpec(brokerUrl) }, 'the external broker is not managed by the cloud (--insecure-open-broker): any client it lets in can publish as any agent');
      }
      const feed = startMqttFeed({
        url: brokerUrl,
        collector: inbound,
        log: baseLog,
        clientId: options.collectorId,
        ...(credentials ? { username: credentials.username, password: credentials.password } : {}),
        ...(ca ? { ca } : {}),
        ...(options.sharedGroup === undefined ? {} : { sharedGroup: options.sharedGroup }),
      });
      publishToAgent = (topic, payload) => feed.publish(topic, payload);
      mqtt = { mode: 'external', url: redactSpec(brokerUrl) };
      agentMqttUrl = () => options.agentMqttUrl ?? withoutCredentials(brokerUrl);
      const managed = dynsec;
      closeTransport = async () => {
        await feed.close();
        await managed?.close();
      };
      undo.push(() => feed.close());
      if (!(await settlesWithin(feed.ready, brokerWaitMs))) {
        log.warn({ broker: mqtt.url, waitedMs: brokerWaitMs }, 'the external MQTT broker has not answered yet; still trying in the background');
      }
    }

    const anchorFile = resolve(options.auditAnchorFile ?? join(dataDir, 'audit-anchors.jsonl'));
    // Listening comes before the first operator is made (a taken port must not spend its one-time password), so /healthz waits for the end of the start.
    let started = false;
    const consoleDir = builtConsoleDir();
    const askToTest = async (agent: { schoolId: string; agentId: string }, tests: readonly MeasureTest[]): Promise<string> => {
      const askId = randomUUID();
      const ask: CloudSignal = { type: 'measure-ask', askId, tests: [...tests], reason: 'on-demand' };
      await publishToAgent(agentSignalInbox(agent.schoolId, agent.agentId), Buffer.from(JSON.stringify(ask)));
      return askId;
    };
    const app = buildApp({ ready: () => started, consoleDir: consoleDir ?? false, askToTest, store, metrics, log: baseLog, tickets, security, sessions: remote, auditAnchorFile: anchorFile, auditRetentionDays: options.retention.auditDays, ...(tls ? { https: tls } : {}), ...(options.trustProxy ? { trustProxy: options.trustProxy } : {}) });
    const httpPort = await listenHttp(app, options.httpPort, options.host);
    undo.push(() => app.close());
    let metricsUrl: string | undefined;
    let closeMetrics: () => Promise<void> = () => Promise.resolve();
    if (options.metricsListen !== undefined) {
      const listener = await startMetricsListener(metrics, options.metricsListen);
      metricsUrl = listener.url;
      closeMetrics = () => listener.close();
      undo.push(closeMetrics);
    }

    // Last, once every listener is up: a start that fails on a taken port (and is retried on
    // another) must not use up the one chance to show the one-time password.
    const firstRun = await ensureFirstOperator(security.accounts, options.adminPasswordFile === undefined ? {} : { passwordFile: options.adminPasswordFile });
    const anchors = new AuditAnchors({ db: store.database, audit: security.audit, key: signingKey, file: anchorFile, log: baseLog });
    anchors.start(options.auditAnchorSeconds * 1000);
    const auditPruner = new AuditPruner({ audit: security.audit, key: signingKey, anchors });
    const [dayStart = '07:30', dayEnd = '17:30'] = options.testSchedule.schoolHours.split('-');
    const planner = new TestPlanner({ ...DEFAULT_SCHEDULE, ...options.testSchedule, dayStart, dayEnd, timeZone: options.testSchedule.schoolTimeZone }, directory);
    const scheduler = startTestScheduler({
      planner,
      onlineAgents: () => store.listAgents({ state: 'online' }),
      send: (ask) => publishToAgent(agentSignalInbox(ask.agent.schoolId, ask.agent.agentId), Buffer.from(JSON.stringify(ask.message))),
      log: baseLog,
    });
    const retention = startRetentionTimer({
      store,
      policy: options.retention,
      log: baseLog,
      also: [
        { name: 'audit log', prune: (now) => auditPruner.prune(new Date(now.getTime() - options.retention.auditDays * 86_400_000)) },
        { name: 'expired API tokens', prune: () => security.tokens.prune() },
      ],
    });
    const httpUrl = `${scheme}://${reachableHost(options.host)}:${httpPort}/`;
    started = true;
    if (options.insecurePlaintext) log.warn('credentials are accepted over plain connections from other machines (--insecure-plaintext): use this on a trusted network only');
    log.info({ httpUrl, mqtt, database: redactSpec(spec), service: summariseServiceConfig(service), brokerAccess: security.registry.brokerAccess.description, signingKeyId: signingKey.keyId }, 'cloud started');

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= runInOrder(log, [
        ['retention timer', () => retention.stop()],
        ['test schedule', () => Promise.resolve(scheduler.stop())],
        ['session sweep', () => remote.stop()],
        ['HTTP API', () => app.close()],
        ['metrics listener', closeMetrics],
        // Commit what is in flight while its senders are still connected, so they get their PUBACK and need not resend.
        ['collector flush', () => settlesWithin(collector.flush(), 5_000).then(() => undefined)],
        [mqtt.mode === 'embedded' ? 'embedded broker' : 'MQTT feed', closeTransport],
        ['collector', () => collector.close()],
        ['reflector', () => reflector?.close() ?? Promise.resolve()],
        ['ticket engine', () => tickets.stop()],
        ['webhook deliverer', () => webhooks.stop()],
        // What the flood guard still counts is written before the last head is anchored.
        ['audit flood guard', () => security.auditGuard.stop()],
        // The last head is recorded after the last act (ticket moves included), so a clean stop leaves no unanchored tail.
        ['audit anchors', () => anchors.stop()],
        ['store', () => store.close()],
      ]).then(() => log.info('cloud stopped')));

    const { config: _config, ...serviceOrigin } = serviceChoice;
    return { options, httpUrl, httpPort, consoleServed: consoleDir !== undefined, mqtt, database: redactSpec(spec), service: { ...serviceOrigin, summary: summariseServiceConfig(service), schoolIds: service.schools.map((school) => school.id) }, store, metrics, tickets, security, sessions: remote.sessions, firstRun, metricsUrl, stop };
  } catch (error) {
    for (const step of undo.reverse()) {
      await step().catch((cleanupError: unknown) => log.warn({ err: cleanupError }, 'cleanup after a failed start failed'));
    }
    throw error;
  }
}

/** The reflector inside `avcare-cloud start`: its WebRTC stack is loaded at the first session, not at start. */
async function startLocalReflector(
  options: CloudOptions,
  signingKey: CloudSigningKey,
  publish: (topic: string, payload: Buffer) => Promise<void>,
  log: Logger,
): Promise<{ id: string; handle: Reflector['handle']; close(): Promise<void> } & Pick<Reflector, 'activeSessions'>> {
  const ports = options.reflector.ports?.split('-').map(Number);
  const probe = await ProbeServer.start({ host: options.reflector.probeHost, port: options.reflector.probePort, log }).catch((error: unknown) => {
    throw error instanceof Error ? explainListenError(error, { port: options.reflector.probePort, host: options.reflector.probeHost, flag: '--reflector-probe-port' }) : error;
  });
  const reflector = new Reflector({
    bulk: probe,
    id: options.reflector.id,
    cloudPublicKeyPem: signingKey.publicKeyPem,
    log,
    send: (to, message) => publish(agentSignalInbox(to.school, to.agent), Buffer.from(JSON.stringify(message))),
    ...(options.reflector.announceAddress === undefined ? {} : { announceAddress: options.reflector.announceAddress }),
    ...(ports ? { portRange: { min: ports[0] ?? 0, max: ports[1] ?? 0 } } : {}),
  });
  return {
    id: reflector.id,
    handle: (from, signal) => reflector.handle(from, signal),
    get activeSessions() {
      return reflector.activeSessions;
    },
    close: async () => {
      reflector.close();
      await probe.close();
    },
  };
}

/**
 * Agents revoked while the broker was unreachable (or by another cloud process) still have an
 * account at the broker: remove those, so the database stays the one list of who may connect.
 */
async function revokeAtBrokerWhatDatabaseRevoked(security: Security, dynsec: MosquittoDynsec, log: Logger): Promise<void> {
  const atBroker = new Set(await dynsec.agentUsernames());
  if (atBroker.size === 0) return;
  const revoked = (await security.registry.list({ includeRevoked: true })).filter((agent) => agent.revokedAt !== null);
  for (const agent of revoked) {
    const username = `${agent.schoolId}:${agent.agentId}`;
    if (!atBroker.has(username)) continue;
    await dynsec.revokeAgent({ schoolId: agent.schoolId, agentId: agent.agentId, username, clientId: '' });
    log.info({ agent: agent.id }, 'removed a revoked agent from the broker');
  }
}

function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read the broker CA file ${path} (--broker-ca): ${(error as Error).message}`, { path }, { cause: error });
  }
}

/** An IPv6 literal goes in brackets inside a URL. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch (error) {
    if (error instanceof TypeError) return url;
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
