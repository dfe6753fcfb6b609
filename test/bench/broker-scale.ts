/**
 * bench:broker: how many classroom PCs one Mosquitto carries. BENCH_BROKER_PCS PCs (default 2,000
 * and 10,000; this host allows 20,000 open files per process, so one broker here stops short of
 * 20,000) each connect over their own connection, then for BENCH_SECONDS publish a health
 * message a minute as the agent does (QoS 1, evenly spread), while one subscriber takes the
 * stream as the collector would. Side by side in one run: Mosquitto as avcare runs it (dynamic
 * security, one client and role per PC with the ACLs the cloud grants) and its reference, the same
 * Mosquitto open to anyone. Printed: the broker's CPU to accept every PC's connection (a broker
 * restart's reconnect storm; the wall time is the load generator's pace), its RSS per connection,
 * and its CPU at the fleet's rate. Ends with one JSON line.
 *
 *   npm run bench:broker
 */
import { execFileSync } from 'node:child_process';
import mqtt from 'mqtt';
import { topicFilter } from '../../protocol/index.js';
import { nextMessage, simulatedFleet } from './telemetry.js';
import { perAgentPublisher, startBenchBroker, type AccessMode } from './bench-broker.js';
import { median, round, sampleProcess, type ProcSample } from './proc-stats.js';

const FLEETS = (process.env.BENCH_BROKER_PCS ?? '2000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const MODES: readonly AccessMode[] = ['authenticated', 'open'];
/** Connections opened at once: a reconnect storm, throttled only by the agents' own backoff. */
const CONNECT_WAVE = 250;

interface BrokerFigures {
  mode: AccessMode;
  pcs: number;
  connectSeconds: number;
  connectionsPerSecond: number;
  /** The broker's own CPU for each connection it accepted (TLS aside): its share of a reconnect storm. */
  connectCpuMsPerConnection: number;
  rssIdleMb: number;
  rssConnectedMb: number;
  kbPerConnection: number;
  /** RSS above a bare broker for each PC: its connection and, when authenticated, its account and role in dynamic security. */
  kbPerPc?: number;
  messagesPerSecond: number;
  delivered: number;
  cpuPercent: number;
  /** PCs one core of this host would carry at one health message a minute each, from the CPU measured. */
  pcsPerCore: number;
}

function brokerPid(dir: string): number {
  const pid = Number(execFileSync('pgrep', ['-f', `mosquitto -c ${dir}`], { encoding: 'utf8' }).trim().split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no mosquitto process for ${dir}`);
  return pid;
}

async function measure(mode: AccessMode, pcs: number): Promise<BrokerFigures> {
  const fleet = simulatedFleet(pcs);
  const broker = await startBenchBroker(mode, fleet.map(({ school, agent }) => ({ school, agent })), ['bench-collector']);
  const pid = brokerPid(broker.mosquitto.dir);
  // Every PC over a connection of its own in both modes: the open reference takes no credentials.
  const publisher = mode === 'open' ? perAgentPublisher(broker.url) : broker.publisher();
  const collector = await mqtt.connectAsync(broker.url, { ...broker.collectorOptions('bench-collector'), protocolVersion: 4, clean: true });
  try {
    let delivered = 0;
    collector.on('message', () => (delivered += 1));
    await collector.subscribeAsync(topicFilter('+'), { qos: 1 });
    const idle = sampleProcess(pid);

    // Every PC's first message opens its connection; a wave at a time, as after a broker restart.
    const connectStarted = performance.now();
    for (let from = 0; from < fleet.length; from += CONNECT_WAVE) {
      await Promise.all(
        fleet.slice(from, from + CONNECT_WAVE).map(
          (agent, index) =>
            new Promise<void>((done, fail) => {
              const { topic, payload } = nextMessage(agent, from + index + 3);
              publisher.publish({ school: agent.school, agent: agent.agent }, topic, payload, (error) => (error ? fail(error) : done()));
            }),
        ),
      );
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    if (publisher.connections() !== pcs) throw new Error(`${publisher.connections()} of ${pcs} PCs connected`);
    await new Promise((settle) => setTimeout(settle, 2_000));
    const connected = sampleProcess(pid);

    // A health message a minute from each PC, spread evenly over the minute.
    const samples: ProcSample[] = [sampleProcess(pid)];
    const before = delivered;
    const perTick = pcs / 60 / 10;
    let owed = 0;
    let next = 0;
    let ticks = 0;
    const started = performance.now();
    await new Promise<void>((done) => {
      const tick = setInterval(() => {
        owed += perTick;
        for (; owed >= 1; owed -= 1) {
          const agent = fleet[next % pcs];
          next += 1;
          if (!agent) continue;
          const { topic, payload } = nextMessage(agent, next * 20 + 3);
          publisher.publish({ school: agent.school, agent: agent.agent }, topic, payload, () => undefined);
        }
        ticks += 1;
        if (ticks % 10 === 0) samples.push(sampleProcess(pid));
        if (performance.now() - started >= SECONDS * 1000) {
          clearInterval(tick);
          done();
        }
      }, 100);
    });
    samples.push(sampleProcess(pid));
    await new Promise((settle) => setTimeout(settle, 1_000));
    const first = samples[0];
    const last = samples.at(-1);
    if (!first || !last) throw new Error('no samples');
    const cpuPercent = ((last.cpuSeconds - first.cpuSeconds) / ((last.at - first.at) / 1000)) * 100;
    const messagesPerSecond = pcs / 60;
    return {
      mode,
      pcs,
      connectSeconds: round(connectSeconds, 2),
      connectionsPerSecond: Math.round(pcs / connectSeconds),
      connectCpuMsPerConnection: round(((connected.cpuSeconds - idle.cpuSeconds) * 1000) / pcs, 3),
      rssIdleMb: round(idle.rssBytes / 1e6),
      rssConnectedMb: round(median(samples.map((sample) => sample.rssBytes)) / 1e6),
      kbPerConnection: round((connected.rssBytes - idle.rssBytes) / pcs / 1024, 1),
      messagesPerSecond: round(messagesPerSecond),
      delivered: delivered - before,
      cpuPercent: round(cpuPercent, 2),
      pcsPerCore: cpuPercent > 0 ? Math.round((pcs / cpuPercent) * 100) : Infinity,
    };
  } finally {
    await collector.endAsync();
    await publisher.end();
    await broker.close();
  }
}

async function main(): Promise<void> {
  const results: BrokerFigures[] = [];
  for (const pcs of FLEETS) {
    for (const mode of MODES) {
      const figures = await measure(mode, pcs);
      results.push(figures);
      console.log(
        `${mode} Mosquitto, ${pcs} PCs: connected in ${figures.connectSeconds} s (${figures.connectionsPerSecond}/s, the load generator's pace; the broker spent ${figures.connectCpuMsPerConnection} ms CPU a connection), RSS ${figures.rssIdleMb} -> ${figures.rssConnectedMb} MB (${figures.kbPerConnection} KB a connection), ` +
          `${figures.messagesPerSecond} msg/s at ${figures.cpuPercent} % of a core (${figures.pcsPerCore} PCs a core), ${figures.delivered} delivered`,
      );
    }
  }
  // Memory a PC costs the broker: above a bare Mosquitto (the open one before its connections), with its account and role when authenticated.
  for (const figures of results) {
    const bare = results.find((other) => other.mode === 'open' && other.pcs === figures.pcs)?.rssIdleMb ?? NaN;
    figures.kbPerPc = round(((figures.rssConnectedMb - bare) * 1000) / figures.pcs, 1);
  }
  const ours = results.filter((figures) => figures.mode === 'authenticated');
  const reference = results.filter((figures) => figures.mode === 'open');
  const ratios = ours.map((figures, index) => ({
    pcs: figures.pcs,
    cpu: round(figures.cpuPercent / (reference[index]?.cpuPercent ?? NaN), 2),
    kbPerPc: round((figures.kbPerPc ?? NaN) / (reference[index]?.kbPerPc ?? NaN), 2),
    connectCpu: round(figures.connectCpuMsPerConnection / (reference[index]?.connectCpuMsPerConnection ?? NaN), 2),
  }));
  console.log(JSON.stringify({ bench: 'broker', seconds: SECONDS, results, ratios }));
}

await main();
