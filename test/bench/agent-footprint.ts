/**
 * bench:agent — the `avcare-agent run` daemon at default intervals, publishing to a broker, side by
 * side with prometheus-node-exporter (Debian) scraped as Prometheus would. Ends with one JSON line.
 * Targets (issue 22): agent RSS at most 55 MB, CPU under 0.5 % of a core, on a PC without headsets
 * or touch panels (the ADB and touch code then stays unloaded). RSS is split into the process's
 * own memory (RssAnon) and pages mapped from files (RssFile: the node binary's code, shared
 * libraries), with the files that hold most, to show where the memory is. Beside them, a second agent reads a
 * cart of four simulated headsets over ADB, to show what those probes cost where they run.
 *
 *   BENCH_SECONDS=180 npm run bench:agent
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../agent/daemon-node-flags.js';
import { QUEST3_CAPTURE, recordedHeadset, SimulatedHeadset } from '../helpers/adb-headset-simulator.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { footprint, residentFiles, sampleProcess, type ProcSample } from './proc-stats.js';

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
  // The same agent on a PC with a cart of headsets: four simulated adbds answering from the recorded Quest 3.
  const headsets = await Promise.all(Array.from({ length: 4 }, async (_, index) => {
    const sim = new SimulatedHeadset({ answer: recordedHeadset(QUEST3_CAPTURE, '2026-12-07 08:30:00', `2G0YC5ZF8B0K4${index}`), onNewKey: 'allow' });
    return { sim, port: await sim.start() };
  }));
  const vrConfig = join(stateHome, 'vr-agent.json');
  writeFileSync(vrConfig, JSON.stringify({ stateDir: join(stateHome, 'vr-state'), vrHeadsets: headsets.map(({ port }, index) => ({ host: '127.0.0.1', port, name: `cart A #${index + 1}` })), vr: { apps: ['com.school.chemlab'], usb: false } }));
  const vrAgent = start(process.execPath, [...DAEMON_NODE_FLAGS, join(root, 'dist/agent/cli.js'), '--config', vrConfig, 'run', '--broker', broker.url, '--school', 'bench', '--room', 'r102'], { ...process.env, AVCARE_CONFIG: '' });
  const exporterPort = await freePort();
  const exporter = start('prometheus-node-exporter', [`--web.listen-address=127.0.0.1:${exporterPort}`]);

  // Prometheus scrapes every 15-60 s; scraping every 30 s matches the agent's health interval.
  const scrape = setInterval(() => {
    fetch(`http://127.0.0.1:${exporterPort}/metrics`).then((r) => r.text()).catch(() => undefined);
  }, 30_000);

  const agentSamples: ProcSample[] = [];
  const exporterSamples: ProcSample[] = [];
  const vrSamples: ProcSample[] = [];
  const startedAt = performance.now();
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - startedAt) / 1000;
      if (elapsed >= warmupSeconds && agent.pid && exporter.pid) {
        agentSamples.push(sampleProcess(agent.pid));
        exporterSamples.push(sampleProcess(exporter.pid));
        if (vrAgent.pid) vrSamples.push(sampleProcess(vrAgent.pid));
      }
      if (elapsed >= seconds) {
        clearInterval(timer);
        done();
      }
    }, 1000);
  });

  const agentFiles = agent.pid ? residentFiles(agent.pid) : [];
  stopping = true;
  clearInterval(scrape);
  agent.kill('SIGTERM');
  vrAgent.kill('SIGTERM');
  await Promise.all(headsets.map(({ sim }) => sim.stop()));
  exporter.kill('SIGTERM');
  await broker.stop();

  const ours = footprint(agentSamples);
  const reference = footprint(exporterSamples);
  const withHeadsets = footprint(vrSamples);
  const headsetCommands = headsets.reduce((sum, { sim }) => sum + sim.commands.length, 0);
  const result = {
    bench: 'agent',
    seconds,
    warmupSeconds,
    agent: ours,
    nodeExporter: reference,
    agentWithFourHeadsets: { ...withHeadsets, adbCommandsAnswered: headsetCommands },
    agentResidentFiles: agentFiles,
    ratio: { rss: Math.round((ours.rssMedianMB / reference.rssMedianMB) * 100) / 100, anon: Math.round((ours.anonMedianMB / reference.anonMedianMB) * 100) / 100 },
    targets: { rssMB: 55, cpuPercent: 0.5 },
    pass: ours.rssMaxMB <= 55 && ours.cpuPercent < 0.5,
  };
  console.log(`avcare-agent: RSS median ${ours.rssMedianMB} MB (max ${ours.rssMaxMB}; own ${ours.anonMedianMB}, from files ${ours.fileMedianMB}), CPU ${ours.cpuPercent}% of a core`);
  console.log(`  files resident in the agent: ${agentFiles.map(({ file, mb }) => `${file} ${mb} MB`).join(', ')}`);
  console.log(`avcare-agent reading 4 headsets over ADB: RSS median ${withHeadsets.rssMedianMB} MB (max ${withHeadsets.rssMaxMB}), CPU ${withHeadsets.cpuPercent}% of a core, ${headsetCommands} ADB commands answered`);
  console.log(`node_exporter: RSS median ${reference.rssMedianMB} MB (max ${reference.rssMaxMB}; own ${reference.anonMedianMB}, from files ${reference.fileMedianMB}), CPU ${reference.cpuPercent}% of a core`);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
