import type { Server } from 'node:net';
import { AvcareError } from '../../protocol/index.js';

export interface ListenTarget {
  port: number;
  host: string;
  /** The command-line flag that sets this port, named in the error so the fix is obvious. */
  flag: string;
}

/**
 * Turns a listen failure into an error that names the port and the flag to change it; other
 * errors are returned as they are. Usable for any server (the MQTT listener, fastify's).
 */
export function explainListenError(error: Error, target: ListenTarget): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const context = { port: target.port, host: target.host, flag: target.flag };
  if (code === 'EADDRINUSE') {
    return new AvcareError('PORT_IN_USE', `port ${target.port} is already in use; choose another with ${target.flag}`, context, { cause: error });
  }
  if (code === 'EACCES') {
    return new AvcareError('INVALID_ARGUMENT', `port ${target.port} needs more privileges than this process has; choose one above 1023 with ${target.flag}`, context, { cause: error });
  }
  if (code === 'EADDRNOTAVAIL') {
    return new AvcareError('INVALID_ARGUMENT', `address ${target.host} is not an address of this machine; cannot listen on port ${target.port}`, context, { cause: error });
  }
  return error;
}

/** Listens and resolves the bound port (the OS picks one for port 0). */
export function listenOn(server: Server, target: ListenTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(explainListenError(error, target));
    };
    const onListening = (): void => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : target.port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(target.port, target.host);
  });
}
