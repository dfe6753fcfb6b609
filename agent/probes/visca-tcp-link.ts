import { createConnection, type Socket as TcpSocket } from 'node:net';
import { AvcareError } from '../../protocol/index.js';
import { where, type ViscaIpEndpoint, type ViscaIpLink, type ViscaIpLinkOptions, type ViscaIpLinkStats } from './visca-ip-endpoint.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 1500;

export function openTcpViscaLink(endpoint: ViscaIpEndpoint, options: ViscaIpLinkOptions = {}): Promise<ViscaIpLink> {
  return TcpViscaLink.open(endpoint, options);
}

/** Raw VISCA over a TCP stream: the stream does the ordering and retrying; packets are cut by the client. */
class TcpViscaLink implements ViscaIpLink {
  private readonly listeners = new Set<(bytes: Uint8Array) => void>();
  private readonly counters: ViscaIpLinkStats = { sent: 0, retransmitted: 0, received: 0, duplicatesDropped: 0, staleDropped: 0, sequenceResets: 0 };
  private ended: string | undefined;

  private constructor(
    readonly endpoint: ViscaIpEndpoint,
    private readonly socket: TcpSocket,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.counters.received += 1;
      for (const listener of this.listeners) listener(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
    socket.on('error', (error) => {
      this.ended = error.message;
    });
    socket.on('close', () => {
      this.ended ??= 'the camera closed the connection';
    });
  }

  static open(endpoint: ViscaIpEndpoint, options: ViscaIpLinkOptions): Promise<TcpViscaLink> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((done, fail) => {
      const socket = createConnection({ host: endpoint.host, port: endpoint.port });
      const failWith = (reason: string, cause?: unknown): void => {
        cleanup();
        socket.destroy();
        fail(new AvcareError('VISCA_CONNECT_FAILED', `cannot connect to ${where(endpoint)}: ${reason}`, { host: endpoint.host, port: endpoint.port, raw: '' }, { cause }));
      };
      const onError = (error: Error): void => failWith(error.message, error);
      const onAbort = (): void => {
        cleanup();
        socket.destroy();
        const reason: unknown = options.signal?.reason;
        fail(reason instanceof Error ? reason : new AvcareError('PROBE_TIMEOUT', 'VISCA connection aborted'));
      };
      const timer = setTimeout(() => failWith(`no answer within ${timeoutMs} ms`), timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        options.signal?.removeEventListener('abort', onAbort);
      };
      socket.once('error', onError);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => {
        cleanup();
        done(new TcpViscaLink(endpoint, socket));
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.ended !== undefined) {
      return Promise.reject(new AvcareError('VISCA_CONNECT_FAILED', `${where(this.endpoint)}: ${this.ended}`, { host: this.endpoint.host, port: this.endpoint.port, raw: '' }));
    }
    this.counters.sent += 1;
    return new Promise((done, fail) => {
      this.socket.write(bytes, (error) => {
        if (error) fail(new AvcareError('VISCA_CONNECT_FAILED', `${where(this.endpoint)}: ${error.message}`, { raw: '' }, { cause: error }));
        else done();
      });
    });
  }

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): ViscaIpLinkStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.listeners.clear();
    this.socket.destroy();
    return Promise.resolve();
  }
}

