/**
 * bench:ingest: simulated classrooms (2,000 agents' telemetry) through an own Mosquitto into the
 * collector (`avcare-cloud start --broker`, a child process) with SQLite and with PostgreSQL, and
 * in the same run a bare MQTT.js subscriber draining the same stream (the ceiling).
 *
 * Each database is measured twice in the run: with the broker open (--insecure-open-broker, one
 * publisher for every agent, as before identity) and with authentication on (Mosquitto's dynamic
 * security with one client and role per agent, each agent publishing over its own authenticated
 * connection, the collector on its own account); the figure is stored msg/s, and
 * authenticatedToOpen compares the two (target >= 0.9).
 *
 * Throughput: the stream is queued in Mosquitto for a persistent session, then the consumer is
 * started and timed until it has taken all of it, so the publisher's CPU does not compete with it.
 * Latency: a fixed-rate live stream while the collector runs; per event, `received_at - at` from
 * the database (publish time to acceptance by the collector; the batch commits right after, its
 * mean write time is reported beside it). Ends with one JSON line.
 *
 *   BENCH_MESSAGES=60000 BENCH_LIVE_RATE=3000 npm run bench:ingest
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import pg from 'pg';
import { gateMessage } from '../../cloud/collector/message-gate.js';
import { topicFilter } from '../../protocol/index.js';
import { freePort } from '../helpers/free-port.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { startBenchBroker, type AccessMode, type AgentPublisher, type BenchBroker } from './bench-broker.js';
import { percentile, residentFiles, round, sampleProcess, type ProcSample } from './proc-stats.js';
import { nextMessage, simulatedFleet, type SimulatedAgent } from './telemetry.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 60_000);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 2_000);
const LIVE_RATE = Number(process.env.BENCH_LIVE_RATE ?? 3_000);
const LIVE_SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 5);
const COLLECTOR_ID = 'avcare-collector';
const RSS_TARGET_MB = 150;
/** Node flags for the collector process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where its time goes. */
const COLLECTOR_NODE_FLAGS = (process.env.BENCH_COLLECTOR_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const root = resolve(import.meta.dirname, '../..');
const fleet: SimulatedAgent[] = simulatedFleet(AGENTS);
const identities = fleet.map((agent) => ({ school: agent.school, agent: agent.agent }));
let sent = 0;

async function presubscribe(broker: BenchBroker, clientId: string): Promise<void> {
  const client = await mqtt.connectAsync(broker.url, { ...broker.collectorOptions(clientId), clean: false, protocolVersion: 4 });
  await client.subscribeAsync(topicFilter('+'), { qos: 1 });
  await client.endAsync();
}

/** Publishes `count` messages QoS 1 as fast as the broker takes them (each as its agent), with a bounded window. */
async function publish(publisher: AgentPublisher, count: number, ratePerSecond?: number): Promise<void> {
  const window = 1000;
  let inFlight = 0;
  let done = 0;
  let failed: Error | undefined;
  const started = performance.now();
  await new Promise<void>((finish, reject) => {
    const pump = (): void => {
      while (inFlight < window && done + inFlight < count) {
        if (ratePerSecond && done + inFlight > ((performance.now() - started) / 1000) * ratePerSecond) {
          setTimeout(pump, 2);
          return;
        }
        const agent = fleet[sent % fleet.length];
        if (!agent) throw new Error('empty fleet');
        const { topic, payload } = nextMessage(agent, sent);
        sent += 1;
        inFlight += 1;
        publisher.publish({ school: agent.school, agent: agent.agent }, topic, payload, (error) => {
          inFlight -= 1;
          done += 1;
          failed ??= error;
          if (failed) reject(failed);
          else if (done === count) finish();
          else pump();
        });
      }
    };
    pump();
  });
}

interface BareFigures {
  perSecond: number;
  /** CPU of this process per message while draining (MQTT.js decoding and acknowledging). */
  cpuMicrosPerMessage: number;
}

async function bareDrain(url: string, count: number): Promise<BareFigures> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  let received = 0;
  const client = mqtt.connect(url, { clientId: 'bench-bare', clean: false, protocolVersion: 4 });
  await new Promise<void>((finish) => {
    client.on('message', () => {
      received += 1;
      if (received === count) finish();
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await client.endAsync();
  return { perSecond: count / seconds, cpuMicrosPerMessage: round((cpu.user + cpu.system) / count, 2) };
}

/**
 * What one core spends per message on the parts of ingest that no collector design can skip,
 * measured in this process on the bench's own messages: the gate (UTF-8, JSON.parse, schema) and
 * a bare better-sqlite3 insert of each message into an events table with the store's indexes, in
 * transactions of 500 (WAL, synchronous=NORMAL: the store's settings).
 */
function ingestFloor(count: number): { gateMicros: number; sqliteInsertMicros: number } {
  const messages = Array.from({ length: count }, (_, index) => {
    const agent = fleet[index % fleet.length];
    if (!agent) throw new Error('empty fleet');
    return nextMessage({ ...agent }, index);
  });
  const payloads = messages.map((message) => Buffer.from(message.payload));
  // The gate compiles its checks at its first message (once per process): not part of the cost per message.
  gateMessage(messages[0]?.topic ?? '', payloads[0] ?? Buffer.alloc(0), 256 * 1024);
  let started = process.cpuUsage();
  messages.forEach((message, index) => gateMessage(message.topic, payloads[index] ?? Buffer.alloc(0), 256 * 1024));
  let cpu = process.cpuUsage(started);
  const gateMicros = (cpu.user + cpu.system) / count;

  const db = new Database(join(mkdtempSync(join(tmpdir(), 'avcare-bench-floor-')), 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE events (event_id TEXT PRIMARY KEY, agent_key TEXT NOT NULL, seq INTEGER, type TEXT NOT NULL, at BIGINT NOT NULL, received_at BIGINT NOT NULL, payload TEXT NOT NULL);
    CREATE INDEX events_agent_seq ON events (agent_key, seq); CREATE INDEX events_received_at ON events (received_at);`);
  const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING');
  const rows = messages.map(({ message }) => [message.eventId, `${message.schoolId}/${message.agentId}`, message.seq ?? null, message.type, Date.parse(message.at), Date.now(), JSON.stringify(message)]);
  const insertBatch = db.transaction((batch: unknown[][]) => {
    for (const row of batch) insert.run(row);
  });
  started = process.cpuUsage();
  for (let index = 0; index < rows.length; index += 500) insertBatch(rows.slice(index, index + 500));
  cpu = process.cpuUsage(started);
  db.close();
  return { gateMicros: round(gateMicros, 2), sqliteInsertMicros: round((cpu.user + cpu.system) / count, 2) };
}

interface CollectorRun {
  child: ChildProcess;
  httpPort: number;
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

async function startCollector(broker: BenchBroker, db: string): Promise<CollectorRun> {
  const httpPort = await freePort();
  const metricsPort = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'avcare-bench-cloud-'));
  const child = spawn(
    process.execPath,
    [...COLLECTOR_NODE_FLAGS, join(root, 'dist/cloud/cli.js'), 'start', ...broker.cloudArgs, '--db', db, '--port', String(httpPort), '--host', '127.0.0.1', '--data', data, '--metrics-listen', `127.0.0.1:${metricsPort}`],
    // Errors only: the bench's schools are in no service configuration, so every school's first ticket warns "unrouted".
    { env: { ...process.env, AVCARE_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // The API wants a token; the metrics listener (only this bench reaches it) does not.
  // A labelled metric (messages in, by kind) is the sum of its series.
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const values = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((match) => Number(match[1]));
    return values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0);
  };
  for (let attempt = 0; ; attempt += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok) break;
    } catch {
      if (attempt > 400) throw new Error('collector did not start');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    httpPort,
    metric,
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

interface StoreFigures {
  storedPerSecond: number;
  ratioToBare: number;
  /** Collector CPU (all its threads) per stored message, from /proc. */
  collectorCpuMicrosPerMessage: number;
  collectorRssMB: number;
  /** At the RSS peak: the collector's own memory (RssAnon) and pages mapped from files (RssFile: the node binary, SQLite's and other native code). */
  collectorAnonMB: number;
  collectorFileMB: number;
  /** The files whose pages the collector held most, after the backlog. */
  collectorResidentFiles: Array<{ file: string; mb: number }>;
  collectorCpuPercent: number;
  latencyMs: { p50: number; p99: number; samples: number };
  meanBatchWriteMs: number;
  /** Events per committed batch over the whole run: the write's fixed cost is shared by this many. */
  meanBatchSize: number;
  /** Most messages received and not yet committed at one poll: bounded by the broker's window. */
  maxBacklog: number;
}

async function runStore(mode: AccessMode, db: string, latencies: () => Promise<number[]>, bareRate: number): Promise<StoreFigures> {
  const broker = await startBenchBroker(mode, identities, [COLLECTOR_ID]);
  const publisher = broker.publisher();
  try {
    return await measureStore(broker, publisher, db, latencies, bareRate);
  } finally {
    await publisher.end();
    await broker.close();
  }
}

async function measureStore(broker: BenchBroker, publisher: AgentPublisher, db: string, latencies: () => Promise<number[]>, bareRate: number): Promise<StoreFigures> {
  await presubscribe(broker, COLLECTOR_ID);
  await publish(publisher, MESSAGES);
  const collector = await startCollector(broker, db);
  const pid = collector.child.pid ?? 0;
  const samples: ProcSample[] = [sampleProcess(pid)];
  // Timed from the first stored event, so the process start-up is not counted as ingest time.
  let firstAt: number | undefined;
  let firstTaken = 0;
  let taken = 0;
  let backlog = 0;
  for (;;) {
    const received = await collector.metric('avcare_messages_in_total');
    taken = (await collector.metric('avcare_events_stored_total')) + (await collector.metric('avcare_messages_duplicate_total'));
    backlog = Math.max(backlog, received - taken);
    samples.push(sampleProcess(pid));
    if (firstAt === undefined && taken > 0) {
      firstAt = performance.now();
      firstTaken = taken;
    }
    if (taken >= MESSAGES) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = (performance.now() - (firstAt ?? 0)) / 1000;
  const measured = taken - firstTaken;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const cpuPercent = first && last ? ((last.cpuSeconds - first.cpuSeconds) / ((last.at - first.at) / 1000)) * 100 : NaN;
  const peak = samples.reduce((most, sample) => (sample.rssBytes > most.rssBytes ? sample : most), samples[0] ?? sampleProcess(pid));
  const residentAfterBacklog = residentFiles(pid, 4);

  // Live phase: a fixed rate while the collector runs, for publish-to-accepted latency.
  await publish(publisher, LIVE_RATE * LIVE_SECONDS, LIVE_RATE);
  await new Promise((r) => setTimeout(r, 1000));
  const writeSum = await collector.metric('avcare_write_batch_seconds_sum');
  const writeCount = await collector.metric('avcare_write_batch_seconds_count');
  const batchEvents = await collector.metric('avcare_write_batch_size_sum');
  await collector.stop();
  const lat = await latencies();
  return {
    storedPerSecond: Math.round(measured / seconds),
    ratioToBare: round(measured / seconds / bareRate, 2),
    collectorCpuMicrosPerMessage: first && last ? round(((last.cpuSeconds - first.cpuSeconds) * 1e6) / measured, 1) : NaN,
    collectorRssMB: round(Math.max(...samples.map((s) => s.rssBytes)) / 1024 / 1024),
    collectorAnonMB: round(peak.anonBytes / 1024 / 1024),
    collectorFileMB: round(peak.fileBytes / 1024 / 1024),
    collectorResidentFiles: residentAfterBacklog,
    collectorCpuPercent: round(cpuPercent),
    latencyMs: { p50: percentile(lat, 50), p99: percentile(lat, 99), samples: lat.length },
    meanBatchWriteMs: round((writeSum / writeCount) * 1000, 2),
    meanBatchSize: round(batchEvents / writeCount, 1),
    maxBacklog: backlog,
  };
}

async function main(): Promise<void> {
  const bareBroker = await startBenchBroker('open', identities, []);
  let bare: BareFigures;
  try {
    const publisher = bareBroker.publisher();
    await presubscribe(bareBroker, 'bench-bare');
    await publish(publisher, MESSAGES);
    await publisher.end();
    bare = await bareDrain(bareBroker.url, MESSAGES);
  } finally {
    await bareBroker.close();
  }
  const bareRate = bare.perSecond;
  console.log(`bare MQTT.js subscriber: ${Math.round(bareRate)} msg/s, ${bare.cpuMicrosPerMessage} us CPU per message`);
  const floor = ingestFloor(MESSAGES);
  console.log(`per message, unavoidable: gate ${floor.gateMicros} us + bare SQLite insert ${floor.sqliteInsertMicros} us of CPU`);

  const sqlite = await compareModes('SQLite', async (mode) => {
    const sqliteFile = join(mkdtempSync(join(tmpdir(), `avcare-bench-sqlite-${mode}-`)), 'bench.db');
    return runStore(mode, `sqlite:${sqliteFile}`, () => {
      const db = new Database(sqliteFile, { readonly: true });
      // The live phase's events are the newest ones by publish time.
      const rows = db.prepare('SELECT received_at - at AS lag FROM events ORDER BY at DESC LIMIT ?').all(LIVE_RATE * LIVE_SECONDS) as Array<{ lag: number }>;
      db.close();
      return Promise.resolve(rows.map((row) => row.lag));
    }, bareRate);
  });
  const postgres = await compareModes('PostgreSQL', async (mode) => {
    const database = await createTestDatabase();
    try {
      return await runStore(mode, database.url, async () => {
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        const { rows } = await client.query<{ lag: string }>('SELECT received_at - at AS lag FROM events ORDER BY at DESC LIMIT $1', [LIVE_RATE * LIVE_SECONDS]);
        await client.end();
        return rows.map((row) => Number(row.lag));
      }, bareRate);
    } finally {
      await database.drop();
    }
  });
  const authenticatedPass = [sqlite, postgres].every((figures) => figures.authenticatedToOpen >= 0.9);
  // Issue 22, with authentication on: CPU per stored message against the bare subscriber's, the
  // stored rate against its rate, and the collector's peak RSS.
  const verdict = (figures: StoreFigures, target: { cpuRatio: number; rateRatio: number }) => {
    const cpuRatio = round(figures.collectorCpuMicrosPerMessage / bare.cpuMicrosPerMessage, 1);
    return { cpuRatio, rateRatio: figures.ratioToBare, rssMB: figures.collectorRssMB, pass: cpuRatio <= target.cpuRatio && figures.ratioToBare >= target.rateRatio && figures.collectorRssMB <= RSS_TARGET_MB };
  };
  const targets = { sqlite: { cpuRatio: 2, rateRatio: 0.5 }, postgres: { cpuRatio: 3, rateRatio: 0.35 }, rssMB: RSS_TARGET_MB, authenticatedToOpen: 0.9 };
  const against = { sqlite: verdict(sqlite.authenticated, targets.sqlite), postgres: verdict(postgres.authenticated, targets.postgres) };
  console.log(`against the bare subscriber, authentication on: SQLite ${against.sqlite.cpuRatio}x CPU, ${against.sqlite.rateRatio}x rate, ${against.sqlite.rssMB} MB; PostgreSQL ${against.postgres.cpuRatio}x CPU, ${against.postgres.rateRatio}x rate, ${against.postgres.rssMB} MB`);
  console.log(
    JSON.stringify({
      bench: 'ingest',
      messages: MESSAGES,
      agents: AGENTS,
      bareSubscriberPerSecond: Math.round(bareRate),
      bareCpuMicrosPerMessage: bare.cpuMicrosPerMessage,
      floorMicrosPerMessage: floor,
      sqlite,
      postgres,
      against,
      targets,
      authenticatedPass,
      pass: authenticatedPass && against.sqlite.pass && against.postgres.pass,
    }),
  );
}

/** The same database measured with the broker open and with authentication on, one after the other in this run. */
async function compareModes(name: string, run: (mode: AccessMode) => Promise<StoreFigures>): Promise<{ open: StoreFigures; authenticated: StoreFigures; authenticatedToOpen: number }> {
  const open = await run('open');
  console.log(`collector + ${name}, broker open: ${open.storedPerSecond} msg/s (${open.ratioToBare} of bare), latency p50 ${open.latencyMs.p50} ms p99 ${open.latencyMs.p99} ms; ${open.collectorCpuMicrosPerMessage} us CPU per message, batches of ${open.meanBatchSize}, backlog up to ${open.maxBacklog}`);
  const authenticated = await run('authenticated');
  const authenticatedToOpen = round(authenticated.storedPerSecond / open.storedPerSecond, 2);
  console.log(`collector + ${name}, authentication on: ${authenticated.storedPerSecond} msg/s (${authenticated.ratioToBare} of bare), latency p50 ${authenticated.latencyMs.p50} ms p99 ${authenticated.latencyMs.p99} ms; ${authenticatedToOpen} of open; ${authenticated.collectorCpuMicrosPerMessage} us CPU per message, batches of ${authenticated.meanBatchSize}, backlog up to ${authenticated.maxBacklog}`);
  return { open, authenticated, authenticatedToOpen };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
