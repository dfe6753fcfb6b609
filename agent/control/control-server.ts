/**
 * Serves the control socket inside the daemon. Requests are one line each; a connection that
 * sends more than a request's worth, or garbage, is closed. The socket file is the state
 * directory's, so only who may read the agent's state may ask.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { isAvcareError } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/log.js';
import type { MeasureService } from '../measure/measure-service.js';
import { controlRequestSchema, controlSocketPath, type ControlReply } from './control-messages.js';

const MAX_REQUEST_BYTES = 4096;

export async function startControlServer(options: { stateDir: string; measure: MeasureService; log: Logger }): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(options.stateDir);
  const log = options.log.child({ module: 'control' });
  // A socket left by a daemon that was killed: nobody listens on it any more.
  try {
    unlinkSync(path);
  } catch {
    // Not there: the usual case.
  }
  const server: Server = createServer((socket) => serve(socket, options.measure, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o660);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        try {
          unlinkSync(path);
        } catch {
          // Already removed.
        }
      }),
  };
}

function serve(socket: Socket, measure: MeasureService, log: Logger): void {
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
    let parsed;
    try {
      parsed = controlRequestSchema.safeParse(JSON.parse(buffer.slice(0, end)));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      reply({ type: 'refused', code: 'INVALID_ARGUMENT', message: 'not a control request' });
      socket.end();
      return;
    }
    measure.run(parsed.data.test, 'on-demand', (progress) => reply({ type: 'progress', progress })).then(
      (outcome) => {
        reply({ type: 'outcome', outcome });
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
