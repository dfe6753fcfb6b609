import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A simulated peer on a free loopback port that remembers its open connections, so a test can
 * check that the code under test closed every one, and stop() can end those it did not.
 */
export abstract class LoopbackPeer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  protected abstract serve(socket: Socket): void;

  async start(): Promise<number> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      this.serve(socket);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Connections the host has left open: a probe that forgets to close its sockets leaks one per device per cycle. */
  get openConnections(): number {
    return this.sockets.size;
  }
}
