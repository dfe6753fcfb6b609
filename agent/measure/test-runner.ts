/**
 * Runs one test in a child process (agent/measure/test-child.ts) and relays its signalling over
 * the agent's link: the resident agent never loads the media stack. The child is killed at its
 * deadline and the test reported as hung; tests never overlap (one at a time per PC, across the
 * daemon and the CLI, by a lock file in the state directory).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { AvcareError } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/log.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { TestResult, TestUsage } from '../../protocol/measure-result.js';
import type { SignalLink } from './signal-link.js';
import { fromChildSchema, type TestProgress, type TestSettings } from './test-ipc.js';

export type TestOutcome =
  | { status: 'done'; result: TestResult; usage: TestUsage; wallMs: number }
  | { status: 'failed'; code: string; message: string; usage?: TestUsage; wallMs: number }
  | { status: 'killed'; message: string; deadlineMs: number; wallMs: number };

export interface RunTestOptions {
  test: MeasureTest;
  settings?: TestSettings;
  link: SignalLink;
  /** The state directory: where the lock that keeps tests from overlapping lives. */
  stateDir: string;
  log: Logger;
  onProgress?: (progress: TestProgress) => void;
  /** Killed after this long; default: the test's own length plus a minute for setting up and tearing down. */
  deadlineMs?: number;
  /** The child's entry; tests use a stand-in that hangs. */
  childEntry?: string;
}

/** Where the compiled (or, under tsx, the source) child lives next to this file. */
export function defaultChildEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return join(self, '..', self.endsWith('.ts') ? 'test-child.ts' : 'test-child.js');
}

/**
 * The child gets none of the daemon's own Node flags (--jitless would make its frame generation
 * crawl, a small heap would kill it). A TypeScript entry (development, tests, benches) is loaded
 * through tsx, resolved from here so the working directory does not matter.
 */
function childExecArgv(entry: string): string[] {
  return entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
}

export async function runTestInChild(options: RunTestOptions): Promise<TestOutcome> {
  const { test, settings = {}, link, log, onProgress } = options;
  const deadlineMs = options.deadlineMs ?? (settings.durationMs ?? 30_000) + 60_000;
  const release = acquireTestLock(options.stateDir);
  const started = performance.now();
  const wall = (): number => Math.round(performance.now() - started);
  let child: ChildProcess | undefined;
  let unsubscribe: (() => void) | undefined;
  try {
    const entry = options.childEntry ?? defaultChildEntry();
    child = fork(entry, [], { execArgv: childExecArgv(entry), stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    const running = child;
    let stderr = '';
    running.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    unsubscribe = link.subscribe((message) => {
      if (running.connected) running.send({ type: 'signal', message });
    });
    onProgress?.({ phase: 'starting' });
    return await new Promise<TestOutcome>((resolve) => {
      const timer = setTimeout(() => {
        running.kill('SIGKILL');
        log.warn({ test, deadlineMs }, 'the test did not finish by its deadline; killed');
        resolve({ status: 'killed', message: `the ${test} test did not finish within ${Math.round(deadlineMs / 1000)} s and was stopped`, deadlineMs, wallMs: wall() });
      }, deadlineMs);
      const settle = (outcome: TestOutcome): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      running.on('message', (raw) => {
        const parsed = fromChildSchema.safeParse(raw);
        if (!parsed.success) {
          log.warn({ issue: parsed.error.issues[0]?.message }, 'the test process sent a malformed message; ignored');
          return;
        }
        const message = parsed.data;
        switch (message.type) {
          case 'signal':
            void link.send(message.message).catch((error: unknown) => log.warn({ err: error }, 'sending signalling failed'));
            return;
          case 'progress':
            onProgress?.(message.progress);
            return;
          case 'result':
            settle({ status: 'done', result: message.result, usage: message.usage, wallMs: wall() });
            return;
          case 'failed':
            settle({ status: 'failed', code: message.code, message: message.message, usage: message.usage, wallMs: wall() });
            return;
        }
      });
      running.on('error', (error) => settle({ status: 'failed', code: 'MEASURE_FAILED', message: `the test process could not start: ${error.message}`, wallMs: wall() }));
      running.on('exit', (code, signal) => {
        // After a result this changes nothing: the first settle wins.
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        settle({ status: 'failed', code: 'MEASURE_FAILED', message: `the test process ended (${signal ?? `exit ${code ?? '?'}`}) before its result${tail ? `: ${tail}` : ''}`, wallMs: wall() });
      });
      running.send({ type: 'run', test, settings });
    });
  } finally {
    unsubscribe?.();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    release();
  }
}

/**
 * One test at a time on a PC. The lock file holds the owner's pid; a lock whose process is gone
 * (a crash, a kill -9) is taken over.
 */
export function acquireTestLock(stateDir: string): () => void {
  const file = join(stateDir, 'measure.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(file);
        } catch {
          // Already gone: nothing to release.
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new AvcareError('STATE_UNWRITABLE', `cannot create ${file}: ${(error as Error).message}`, { file }, { cause: error });
      const owner = Number(safeRead(file));
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new AvcareError('MEASURE_BUSY', `another test is running on this PC (process ${owner})`, { pid: owner });
      }
      try {
        unlinkSync(file);
      } catch {
        // Someone else took it over first; the next attempt sees theirs.
      }
    }
  }
  throw new AvcareError('MEASURE_BUSY', 'another test is starting on this PC');
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
