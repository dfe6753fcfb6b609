/**
 * Serves the control socket inside the daemon. Requests are one line each; a connection that
 * sends more than a request's worth, or garbage, is closed. The socket file is the state
 * directory's, so only who may read the agent's state may ask.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { AvcareError, isAvcareError } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/log.js';
import type { MeasureService } from '../measure/measure-service.js';
import { consentOperation } from '../session/consent-operation.js';
import type { SessionService } from '../session/session-service.js';
import { controlSocketPath, type ControlReply } from './control-messages.js';
import { peerUser, type PeerUser } from './peer-credentials.js';
import { peerFromProof, type FileOwner } from './peer-proof.js';

const MAX_REQUEST_BYTES = 4096;

export interface ControlHandlers {
  measure: () => Promise<MeasureService>;
  /**
   * How a consent's sender is known: the kernel's peer credentials on a Unix socket, a proof file
   * on a Windows named pipe (peer-proof.ts). Chosen from the address unless given.
   */
  peerIdentity?: 'kernel' | 'proof';
  /** Who owns a proof file (tests give their own; Windows asks Get-Acl). */
  fileOwner?: FileOwner;
  /** The remote-session service, once the agent runs one (it needs an enrolled identity). */
  sessions?: () => Promise<SessionService | undefined>;
}

export async function startControlServer(options: { stateDir: string; log: Logger } & ControlHandlers): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(options.stateDir);
  // A named pipe leaves no file behind and takes no file mode: only a Unix socket is cleaned up and restricted here.
  const isFile = !path.startsWith('\\\\.\\pipe\\');
  const log = options.log.child({ module: 'control' });
  // A socket left by a daemon that was killed: nobody listens on it any more.
  try {
    if (isFile) unlinkSync(path);
  } catch {
    // Not there: the usual case.
  }
  const identity = options.peerIdentity ?? (isFile ? 'kernel' : 'proof');
  const server: Server = createServer((socket) => {
    const peer = (proof: string | undefined): Promise<PeerUser | undefined> => (identity === 'kernel' ? peerUser(socket) : peerFromProof(options.stateDir, proof, options.fileOwner));
    serve(socket, options, log, peer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (isFile) chmodSync(path, 0o660);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          if (isFile) unlinkSync(path);
        } catch {
          // Already removed.
        }
      }),
  };
}

function serve(socket: Socket, handlers: ControlHandlers, log: Logger, peer: (proof: string | undefined) => Promise<PeerUser | undefined>): void {
  let buffer = '';
  let started = false;
  const reply = (message: ControlReply): void => {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
  };
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    if (started) return;
    buffer += chunk;
    if (buffer.length > MAX_REQUEST_BYTES) {
      socket.destroy();
      return;
    }
    const end = buffer.indexOf('\n');
    if (end === -1) return;
    started = true;
    void handle(buffer.slice(0, end), handlers, reply, peer).then(
      (outcome) => {
        if (outcome) reply({ type: 'outcome', outcome });
        socket.end();
      },
      (error: unknown) => {
        if (!isAvcareError(error)) log.error({ err: error }, 'a requested test failed');
        reply({ type: 'refused', code: isAvcareError(error) ? error.code : 'MEASURE_FAILED', message: error instanceof Error ? error.message : String(error) });
        socket.end();
      },
    );
  });
}

/**
 * The request's test, run, or its consent operation done; undefined (after saying why or answering)
 * otherwise. A consent is answered in the name of the OS user the system says sent it (`peer`).
 */
async function handle(line: string, handlers: ControlHandlers, reply: (message: ControlReply) => void, peer: (proof: string | undefined) => Promise<PeerUser | undefined>) {
  // The schemas and the test machinery load with the first request, not with the daemon.
  const { controlRequestSchema } = await import('./control-messages.js');
  let parsed;
  try {
    parsed = controlRequestSchema.safeParse(JSON.parse(line));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    reply({ type: 'refused', code: 'INVALID_ARGUMENT', message: 'not a control request' });
    return undefined;
  }
  const request = parsed.data;
  if (request.type === 'consent') {
    const sessions = await handlers.sessions?.();
    if (!sessions) throw new AvcareError('AGENT_NOT_ENROLLED', 'this agent takes no remote sessions: it is not enrolled with a cloud');
    reply(await consentOperation(sessions, request, await peer(request.peerProof)));
    return undefined;
  }
  return (await handlers.measure()).run(request.test, 'on-demand', (progress) => reply({ type: 'progress', progress }));
}
