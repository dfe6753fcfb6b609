/**
 * The process a test runs in: started by the agent for one test and gone after it, so the native
 * media stack (~200 MB while it runs) never lives in the resident agent. It talks only to its
 * parent: signalling goes through the parent's MQTT connection.
 */
import { performance } from 'node:perf_hooks';
import { isAvcareError } from '../../protocol/errors.js';
import type { CloudSignal } from '../../protocol/measure-signal.js';
import type { TestResult, TestUsage } from '../../protocol/measure-result.js';
import { runNetworkTest } from './network-test.js';
import { runAvsyncTest } from './avsync-test.js';
import type { SignalLink } from './signal-link.js';
import { toChildSchema, type FromChild, type TestProgress, type TestSettings } from './test-ipc.js';

const startedAt = performance.now();
const handlers = new Set<(message: CloudSignal) => void>();

function tell(message: FromChild): void {
  process.send?.(message);
}

function usage(): TestUsage {
  const used = process.resourceUsage();
  const cpuMs = (used.userCPUTime + used.systemCPUTime) / 1000;
  const wallMs = Math.max(1, performance.now() - startedAt);
  return { cpuMs: Math.round(cpuMs), cpuPercent: Math.round((1000 * cpuMs) / wallMs) / 10, maxRssBytes: used.maxRSS * 1024 };
}

const link: SignalLink = {
  send: (message) => {
    tell({ type: 'signal', message });
    return Promise.resolve();
  },
  subscribe: (handler) => {
    handlers.add(handler);
    return () => handlers.delete(handler);
  },
};

async function run(test: 'network' | 'avsync', settings: TestSettings): Promise<TestResult> {
  const onProgress = (progress: TestProgress): void => tell({ type: 'progress', progress });
  if (test === 'network') {
    return runNetworkTest({ link, ...settings, onProgress });
  }
  return runAvsyncTest({ settings, onProgress });
}

process.on('message', (raw) => {
  const parsed = toChildSchema.safeParse(raw);
  if (!parsed.success) return;
  const message = parsed.data;
  if (message.type === 'signal') {
    for (const handler of handlers) handler(message.message);
    return;
  }
  run(message.test, message.settings).then(
    (result) => {
      tell({ type: 'result', result, usage: usage() });
      process.disconnect?.();
    },
    (error: unknown) => {
      tell({ type: 'failed', code: isAvcareError(error) ? error.code : 'MEASURE_FAILED', message: error instanceof Error ? error.message : String(error), usage: usage() });
      process.disconnect?.();
    },
  );
});
// The parent gone means nobody wants the result.
process.on('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
