/** `avcare-agent test` asking the running daemon: undefined when no daemon listens. */
import { connect } from 'node:net';
import { AvcareError, isAvcareError, type ErrorCode, ERROR_CODES } from '../../protocol/errors.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { TestProgress } from '../measure/test-ipc.js';
import type { TestOutcome } from '../measure/test-runner.js';
import { controlReplySchema, controlSocketPath } from './control-messages.js';

export async function askDaemonToTest(stateDir: string, test: MeasureTest, onProgress: (progress: TestProgress) => void, timeoutMs: number): Promise<TestOutcome | undefined> {
  const socket = connect(controlSocketPath(stateDir));
  return new Promise<TestOutcome | undefined>((resolve, reject) => {
    let buffer = '';
    let connected = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AvcareError('MEASURE_TIMEOUT', `the running agent did not finish the ${test} test within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const finish = (value: TestOutcome | undefined, error?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ type: 'test', test })}\n`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // No socket, or a stale one of a daemon that is gone: run the test here instead.
      if (!connected && ['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(error.code ?? '')) finish(undefined);
      else finish(undefined, new AvcareError('MEASURE_FAILED', `talking to the running agent failed: ${error.message}`));
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        let parsed;
        try {
          parsed = controlReplySchema.safeParse(JSON.parse(line));
        } catch {
          parsed = undefined;
        }
        if (!parsed?.success) continue;
        const reply = parsed.data;
        if (reply.type === 'progress') onProgress(reply.progress);
        else if (reply.type === 'outcome') finish(reply.outcome as TestOutcome);
        else finish(undefined, new AvcareError(knownCode(reply.code), reply.message));
      }
    });
    socket.on('close', () => finish(undefined, new AvcareError('MEASURE_FAILED', 'the running agent closed the connection before the test ended')));
  }).catch((error: unknown) => {
    if (isAvcareError(error)) throw error;
    throw new AvcareError('MEASURE_FAILED', String(error));
  });
}

function knownCode(code: string): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : 'MEASURE_FAILED';
}
