import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Aedes } from 'aedes';

/** A real MQTT 3.1.1 broker (aedes) in the test process on a free port; over TLS when given a key and certificate. */
export interface InProcessBroker {
  readonly port: number;
  readonly url: string;
  readonly broker: Aedes;
  close(): Promise<void>;
}

export async function startAedes(options: { tls?: Pick<TlsOptions, 'key' | 'cert'>; port?: number } = {}): Promise<InProcessBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = options.tls ? createTlsServer(options.tls, (socket) => broker.handle(socket)) : createServer((socket) => broker.handle(socket));
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('aedes test broker has no port');
  const scheme = options.tls ? 'mqtts' : 'mqtt';
  // TLS needs a host name the certificate names (CN=localhost); plain TCP uses the address itself.
  const host = options.tls ? 'localhost' : '127.0.0.1';
  return {
    port: address.port,
    url: `${scheme}://${host}:${address.port}`,
    broker,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
