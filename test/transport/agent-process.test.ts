import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, outboxFile } from '../../agent/transport/outbox.js';
import type { AgentMessage } from '../../protocol/index.js';
import { freePort } from '../helpers/free-port.js';
import { CLI } from '../helpers/run-cli.js';
import { startAedes } from './aedes-broker.js';
import { firstArrivals, record, until } from './recorder.js';

// The built `avcare-agent run` as systemd runs it, killed the hard way; `npm test` builds it first.
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function runAgent(broker: string, stateDir: string, extra: string[] = []): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [CLI, 'run', '--broker', broker, '--school', 'sch-1', '--room', 'r101', ...extra], {
    // STATE_DIRECTORY, not XDG_STATE_HOME: as root the agent would otherwise use /var/lib/avcare.
    env: { ...process.env, STATE_DIRECTORY: stateDir, AVCARE_CONFIG: '', AVCARE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return Object.assign(child, { output: () => output });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('avcare-agent run publishing to a broker', () => {
  it('publishes status, inventory and health with outbox stats; after kill -9 the broker announces the loss and keeps the inventory', async () => {
    const broker = await startAedes();
    cleanup.push(() => broker.close());
    const watcher = await record(broker.url);
    cleanup.push(() => watcher.close());
    const agent = runAgent(broker.url, mkdtempSync(join(tmpdir(), 'avcare-agent-state-')));
    await watcher.waitFor((received) => ['status', 'inventory', 'health'].every((type) => received.some((r) => r.message.type === type)), 20_000);
    const health = watcher.received.find((r) => r.message.type === 'health')?.message;
    expect(health).toMatchObject({ schoolId: 'sch-1', roomId: 'r101', outbox: { droppedHealth: 0, droppedOther: 0, droppedFaults: 0 } });
    expect(firstArrivals(watcher.received).slice(0, 2)).toEqual([1, 2]);

    agent.kill('SIGKILL');
    await exited(agent);
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status' && r.message.state === 'offline'));
    const late = await record(broker.url);
    cleanup.push(() => late.close());
    await late.waitFor((received) => received.length >= 2);
    const retained = Object.fromEntries(late.received.map((r) => [r.message.type, r.message]));
    expect(retained.status).toMatchObject({ state: 'offline', reason: 'connection lost' });
    expect(retained.inventory?.seq).toBeGreaterThanOrEqual(1);
    expect(late.received.every((r) => r.retain)).toBe(true);
  }, 40_000);

  it('sends the events a killed agent held unsent once it runs again and the broker is there', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`;
    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-agent-state-'));
    const file = outboxFile(stateDir);
    const first = runAgent(url, stateDir);
    await until(() => existsSync(file), 20_000, 'the outbox file');
    const peek = new Outbox({ path: file, maxEvents: 100_000 });
    let held: AgentMessage[] = [];
    try {
      await until(() => peek.stats().pending >= 2, 20_000, 'unsent events');
      first.kill('SIGKILL');
      await exited(first);
      held = peek.next(1000).map((entry) => JSON.parse(entry.payload) as AgentMessage);
    } finally {
      peek.close();
    }
    expect(held.map((message) => message.type).sort()).toEqual(expect.arrayContaining(['health', 'inventory']));

    const broker = await startAedes({ port });
    cleanup.push(() => broker.close());
    const watcher = await record(broker.url);
    cleanup.push(() => watcher.close());
    const second = runAgent(url, stateDir, ['--max-cycles', '1']);
    await exited(second);
    expect(second.exitCode, second.output()).toBe(0);
    await watcher.waitFor((received) => held.every((message) => received.some((r) => r.message.eventId === message.eventId)));
    const seqs = firstArrivals(watcher.received);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeGreaterThan(held.length);
    await watcher.waitFor((received) => received.some((r) => r.message.type === 'status' && r.message.state === 'offline'));
    expect(watcher.received.filter((r) => r.message.type === 'status').map((r) => (r.message.type === 'status' ? r.message.reason ?? r.message.state : ''))).toEqual(['online', 'stopped']);
  }, 60_000);
});
