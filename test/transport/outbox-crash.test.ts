import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AgentMessage } from '../../protocol/index.js';
import { Outbox, outboxFile } from '../../agent/transport/outbox.js';
import { health } from './agent-messages.js';

const BUILT_OUTBOX = resolve(import.meta.dirname, '../../dist/agent/transport/outbox.js');

/**
 * The child: enqueues into the BUILT outbox as fast as it can and prints "<seq> <eventId>" once
 * enqueue() has returned, i.e. once the event is reported stored. Plain JavaScript so that node
 * runs it as it is (stdout to a pipe is synchronous on Linux: a printed line was really returned).
 */
const WRITER = `
import { randomUUID } from 'node:crypto';
import { Outbox } from ${JSON.stringify(pathToFileURL(BUILT_OUTBOX).href)};
const outbox = new Outbox({ path: process.argv[1], maxEvents: 1000000 });
const system = {
  os: { platform: 'linux', distro: 'Debian', release: '12', arch: 'x64', hostname: 'pc' },
  cpu: { cores: 4, loadPercent: 5 }, memory: { totalBytes: 8e9, availableBytes: 4e9 }, disks: [],
  cpuTemperatureC: null, network: [], uptimeSeconds: 1, agentVersion: '0.0.0',
};
for (;;) {
  const message = { schemaVersion: 1, eventId: randomUUID(), agentId: 'pc-01', schoolId: 'sch-1', roomId: 'r101', at: new Date().toISOString(), type: 'health', system };
  const stored = outbox.enqueue(message, { retain: false });
  process.stdout.write(stored.seq + ' ' + stored.eventId + '\\n');
}
`;

/** Runs the writer until it has reported `atLeast` stored events, then kills it with SIGKILL. */
function enqueueUntilKilled(path: string, atLeast: number): Promise<Map<number, string>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '--eval', WRITER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
    const reported = new Map<number, string>();
    let partial = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const [seq, eventId] = line.split(' ');
        reported.set(Number(seq), eventId ?? '');
      }
      if (reported.size >= atLeast && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolvePromise(reported);
      else reject(new Error(`writer exited by itself (${code}): ${stderr}`));
    });
  });
}

describe('outbox under kill -9', () => {
  it('keeps every event reported stored, with contiguous seqs, when the writing process is killed mid-stream', async () => {
    expect(existsSync(BUILT_OUTBOX), 'npm test builds dist/ first').toBe(true);
    const path = outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outbox-crash-')));
    const reported = await enqueueUntilKilled(path, 500);
    const reopened = new Outbox({ path, maxEvents: 1_000_000 });
    try {
      const entries = reopened.next(1_000_000);
      const seqs = entries.map((entry) => entry.seq);
      expect(seqs[0]).toBe(1);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      const lastReported = Math.max(...reported.keys());
      // The kill may land between a commit and its line on stdout: more may be stored than reported, never less.
      expect(seqs.length).toBeGreaterThanOrEqual(lastReported);
      const stored = new Map(entries.map((entry) => [entry.seq, (JSON.parse(entry.payload) as AgentMessage).eventId]));
      for (const [seq, eventId] of reported) expect(stored.get(seq)).toBe(eventId);
      expect(reopened.enqueue(health(), { retain: false }).seq).toBe(seqs.length + 1);
    } finally {
      reopened.close();
    }
  });
});
