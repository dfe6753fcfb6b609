/**
 * bench:agent — the `avcare-agent run` daemon at default intervals, publishing to a broker, side by
 * side with prometheus-node-exporter (Debian) scraped as Prometheus would. Ends with one JSON line.
 * Targets (issue 3): agent RSS at most 70 MB, CPU under 1 % of a core.
 *
 *   BENCH_SECONDS=180 npm run bench:agent
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../agent/daemon-node-flags.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { footprint, sampleProcess, type ProcSample } from './proc-stats.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 180);
const warmupSeconds = Math.min(20, Math.floor(seconds / 6));
const root = resolve(import.meta.dirname, '../..');

function start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  child.once('exit', (code, signal) => {
    if (!stopping) console.error(`${command} exited early (${code ?? signal}): ${stderr}`);
  });
  return child;
}

let stopping = false;

async function main(): Promise<void> {
  if (spawnSync('prometheus-node-exporter', ['--version']).error) {
    throw new Error('prometheus-node-exporter is not installed: apt-get install prometheus-node-exporter (the reference of this benchmark)');
  }
  const broker = await startMosquitto();
  const stateHome = mkdtempSync(join(tmpdir(), 'avcare-bench-agent-'));
  // As the service runs it (install.sh's ExecStart).
  const agent = start(process.execPath, [...DAEMON_NODE_FLAGS, join(root, 'dist/agent/cli.js'), 'run', '--broker', broker.url, '--school', 'bench', '--room', 'r101'], {
    ...process.env,
    XDG_STATE_HOME: stateHome,
    AVCARE_CONFIG: '',
  });
  const exporterPort = await freePort();
  const exporter = start('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${exporterPort}`]);

  // Prometheus scrapes every 15-60 s; scraping every 30 s matches the agent's health interval.
  const scrape = setInterval(() => {
    fetch(`http://127.0.0.1:${exporterPort}/metrics`).then((r) => r.text()).catch(() => undefined);
  }, 30_000);

  const agentSamples: ProcSample[] = [];
  const exporterSamples: ProcSample[] = [];
  const startedAt = performance.now();
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - startedAt) / 1000;
      if (elapsed >= warmupSeconds && agent.pid && exporter.pid) {
        agentSamples.push(sampleProcess(agent.pid));
        exporterSamples.push(sampleProcess(exporter.pid));
      }
      if (elapsed >= seconds) {
        clearInterval(timer);
        done();
      }
    }, 1000);
  });

  stopping = true;
  clearInterval(scrape);
  agent.kill('SIGTERM');
  exporter.kill('SIGTERM');
  await broker.stop();

  const ours = footprint(agentSamples);
  const reference = footprint(exporterSamples);
  const result = {
    bench: 'agent',
    seconds,
    warmupSeconds,
    agent: ours,
    nodeExporter: reference,
    ratio: { rss: Math.round((ours.rssMedianMB / reference.rssMedianMB) * 100) / 100 },
    targets: { rssMB: 70, cpuPercent: 1 },
    pass: ours.rssMaxMB <= 70 && ours.cpuPercent < 1,
  };
  console.log(`avcare-agent: RSS median ${ours.rssMedianMB} MB (max ${ours.rssMaxMB}), CPU ${ours.cpuPercent}% of a core`);
  console.log(`node_exporter: RSS median ${reference.rssMedianMB} MB (max ${reference.rssMaxMB}), CPU ${reference.cpuPercent}% of a core`);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
