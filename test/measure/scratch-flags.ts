import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { sampleProcess } from '../bench/proc-stats.js';

const root = resolve(import.meta.dirname, '../..');
const base = ['--jitless', '--no-expose-wasm', '--max-semi-space-size=1'];
const variants: Record<string, string[]> = {
  current: base,
  lite: [...base, '--lite-mode'],
  optsize: [...base, '--optimize-for-size'],
  pool1: [...base, '--v8-pool-size=1'],
  single: [...base, '--single-threaded'],
  all: [...base, '--lite-mode', '--optimize-for-size', '--v8-pool-size=1', '--single-threaded'],
};
const broker = await startMosquitto();
const runs = Object.entries(variants).map(([name, flags], index) => {
  const child = spawn(process.execPath, [...flags, join(root, 'dist/agent/cli.js'), 'run', '--broker', broker.url, '--school', `b${index}`, '--room', 'r101'], {
    env: { ...process.env, XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'avcare-flags-')), AVCARE_CONFIG: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.on('exit', (code) => console.log(name, 'exited', code, err.slice(-300)));
  return { name, child, samples: [] as number[] };
});
const seconds = Number(process.env.SECS ?? 60);
for (let t = 0; t < seconds; t += 2) {
  await new Promise((r) => setTimeout(r, 2000));
  if (t < 20) continue;
  for (const run of runs) if (run.child.pid && run.child.exitCode === null) run.samples.push(sampleProcess(run.child.pid).rssBytes / 1048576);
}
for (const run of runs) {
  const sorted = [...run.samples].sort((a, b) => a - b);
  console.log(run.name, 'median', sorted[Math.floor(sorted.length / 2)]?.toFixed(1), 'max', sorted.at(-1)?.toFixed(1));
  run.child.kill('SIGTERM');
}
await broker.stop();
