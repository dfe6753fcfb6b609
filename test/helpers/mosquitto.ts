import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/**
 * A Mosquitto process of the test's own on a free port, with persistence so a stop and restart
 * keeps persistent sessions and their queued messages, as a production broker would.
 */
export interface OwnMosquitto {
  readonly port: number;
  readonly url: string;
  /** Stops the broker (SIGTERM: it saves its persistence file) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same persistence. */
  start(): Promise<void>;
  /** Kills it without letting it save (SIGKILL). */
  kill(): Promise<void>;
  readonly log: () => string;
  /** With `dynsec`: the dynamic-security admin that `mosquitto_ctrl dynsec init` created. */
  readonly admin?: { username: string; password: string };
  /** Its own folder (configuration, persistence). */
  readonly dir: string;
}

/** Where Debian's mosquitto package puts the dynamic-security plugin. */
export function dynsecPlugin(): string {
  for (const candidate of ['/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so', '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so', '/usr/lib/mosquitto_dynamic_security.so']) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('the Mosquitto dynamic-security plugin is not installed (Debian package mosquitto)');
}

/**
 * `dynsec: true` loads the dynamic-security plugin with a fresh configuration whose only client
 * is an admin (made by `mosquitto_ctrl dynsec init`, as an operator would), and refuses anonymous
 * clients: the broker as a school runs it with avcare.
 */
export async function startMosquitto(options: { dynsec?: boolean; seed?: (dynsecFile: string) => void } = {}): Promise<OwnMosquitto> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'avcare-mosquitto-'));
  // Started as root, Mosquitto drops to its own user, which must still write its persistence file.
  chmodSync(dir, 0o777);
  const configFile = join(dir, 'mosquitto.conf');
  let admin: { username: string; password: string } | undefined;
  const security: string[] = ['allow_anonymous true'];
  if (options.dynsec) {
    admin = { username: 'admin', password: `admin-${Math.random().toString(36).slice(2)}` };
    const dynsecFile = join(dir, 'dynamic-security.json');
    execFileSync('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, admin.username, admin.password], { stdio: 'ignore' });
    // Bulk accounts written into the file before the start (benchmarks), as a provisioning tool would.
    options.seed?.(dynsecFile);
    // The plugin saves every change to this file, as the user Mosquitto drops to.
    chmodSync(dynsecFile, 0o666);
    security.splice(0, 1, 'allow_anonymous false', `plugin ${dynsecPlugin()}`, `plugin_opt_config_file ${dynsecFile}`);
  }
  writeFileSync(
    configFile,
    [
      `listener ${port} 127.0.0.1`,
      ...security,
      'persistence true',
      `persistence_location ${dir}/`,
      // Queue generously for persistent sessions: a reliability test stops consumers on purpose.
      'max_queued_messages 1000000',
      'max_inflight_messages 100',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    const process = spawn('mosquitto', ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = process;
    process.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    process.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForPort(port, 10_000, () => process.exitCode !== null);
    if (process.exitCode !== null) throw new Error(`mosquitto exited at start (${process.exitCode}): ${output}`);
  }

  async function stopWith(signal: NodeJS.Signals): Promise<void> {
    const process = child;
    if (!process || process.exitCode !== null || process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => process.once('exit', () => resolve()));
    process.kill(signal);
    await exited;
    child = undefined;
  }

  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    start,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
    log: () => output,
    dir,
    ...(admin ? { admin } : {}),
  };
}

async function waitForPort(port: number, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gaveUp()) {
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!gaveUp()) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
