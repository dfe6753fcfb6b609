/** `avcare-agent test` and `avcare-agent consent` asking the running daemon: undefined when no daemon listens. */
import { connect } from 'node:net';
import { AvcareError, isAvcareError, type ErrorCode, ERROR_CODES } from '../../protocol/errors.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { TestProgress } from '../measure/test-ipc.js';
import type { TestOutcome } from '../measure/test-runner.js';
import { createPeerProof } from './peer-proof.js';
import { controlReplySchema, controlSocketPath, type ControlReply, type ControlRequest } from './control-messages.js';

interface Conversation<T> {
  request: ControlRequest;
  timeoutMs: number;
  /** The error code of a failure to talk to the daemon. */
  failureCode: ErrorCode;
  timeoutMessage: string;
  /** Each reply line; returns the value that ends the conversation, or undefined to keep listening. */
  onReply(reply: ControlReply): { value: T } | undefined;
}

/** One request line to the daemon, replies read line by line until one ends it. */
function converse<T>(stateDir: string, conversation: Conversation<T>): Promise<T | undefined> {
  const socket = connect(controlSocketPath(stateDir));
  return new Promise<T | undefined>((resolve, reject) => {
    let buffer = '';
    let connected = false;
    const timer = setTimeout(() => finish(undefined, new AvcareError(conversation.failureCode, conversation.timeoutMessage)), conversation.timeoutMs);
    function finish(value: T | undefined, error?: Error): void {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value);
    }
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(conversation.request)}\n`);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // No socket, or a stale one of a daemon that is gone: the command does the work itself.
      if (!connected && ['ENOENT', 'ECONNREFUSED', 'EACCES'].includes(error.code ?? '')) finish(undefined);
      else finish(undefined, new AvcareError(conversation.failureCode, `talking to the running agent failed: ${error.message}`));
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
        if (parsed.data.type === 'refused') return finish(undefined, new AvcareError(knownCode(parsed.data.code, conversation.failureCode), parsed.data.message));
        const ended = conversation.onReply(parsed.data);
        if (ended) return finish(ended.value);
      }
    });
    socket.on('close', () => finish(undefined, new AvcareError(conversation.failureCode, 'the running agent closed the connection before it answered')));
  }).catch((error: unknown) => {
    if (isAvcareError(error)) throw error;
    throw new AvcareError(conversation.failureCode, String(error));
  });
}

export function askDaemonToTest(stateDir: string, test: MeasureTest, onProgress: (progress: TestProgress) => void, timeoutMs: number): Promise<TestOutcome | undefined> {
  return converse<TestOutcome>(stateDir, {
    request: { type: 'test', test },
    timeoutMs,
    failureCode: 'MEASURE_FAILED',
    timeoutMessage: `the running agent did not finish the ${test} test within ${Math.round(timeoutMs / 1000)} s`,
    onReply: (reply) => {
      if (reply.type === 'progress') onProgress(reply.progress);
      return reply.type === 'outcome' ? { value: reply.outcome as TestOutcome } : undefined;
    },
  });
}

/**
 * A consent request to the running agent (`avcare-agent consent ...`): the sessions after it. On a
 * Windows named pipe the request carries a proof of who sends it (peer-proof.ts), made here.
 */
export async function askDaemonAboutConsent(stateDir: string, request: Omit<Extract<ControlRequest, { type: 'consent' }>, 'type' | 'peerProof'>, timeoutMs = 10_000, proveIdentity = controlSocketPath(stateDir).startsWith('\\\\.\\pipe\\')): Promise<Extract<ControlReply, { type: 'consent' }> | undefined> {
  const proof = proveIdentity ? await createPeerProof(stateDir).catch(() => undefined) : undefined;
  try {
    return await converse(stateDir, {
      request: { type: 'consent', ...request, ...(proof ? { peerProof: proof.nonce } : {}) },
      timeoutMs,
      failureCode: 'SESSION_NOT_FOUND',
      timeoutMessage: `the running agent did not answer within ${timeoutMs / 1000} s`,
      onReply: (reply) => (reply.type === 'consent' ? { value: reply } : undefined),
    });
  } finally {
    await proof?.remove();
  }
}

function knownCode(code: string, fallback: ErrorCode): ErrorCode {
  return code in ERROR_CODES ? (code as ErrorCode) : fallback;
}
