/**
 * The reflector's end of the throttling check (shared/domain.md: compare a media-like UDP flow
 * with a bulk TCP flow to the same server, the Wehe / ShaperProbe idea). One port number, UDP and
 * TCP:
 *
 *   UDP  datagrams of the agent's rising-rate flow: [token 32 bytes][step u8][seq u32][padding]
 *   TCP  "AVCARE-PROBE 1 <token> upload\n" then bytes until the client ends: answers {"bytes","ms"}
 *        "AVCARE-PROBE 1 <token> report\n": answers what the UDP steps delivered
 *
 * Only tokens issued for a live session count; everything else is dropped unread.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { PROBE_TOKEN_BYTES, type ProbeStepCount } from '../../protocol/measure-probe.js';

interface Session {
  sessionId: string;
  expiresAt: number;
  steps: Map<number, ProbeStepCount>;
  connections: number;
}

const MAX_UPLOAD_BYTES = 200 * 1024 * 1024;
const MAX_UPLOAD_MS = 10_000;
const MAX_CONNECTIONS_PER_TOKEN = 4;
const HEADER_LIMIT = 200;

export class ProbeServer {
  private readonly sessions = new Map<string, Session>();
  private readonly log: Logger;

  private constructor(
    private readonly tcp: Server,
    private readonly udp: UdpSocket,
    log: Logger,
  ) {
    this.log = log.child({ module: 'probe-server' });
    udp.on('message', (datagram) => this.countDatagram(datagram));
    tcp.on('connection', (socket) => this.serve(socket));
  }

  /**
   * Listens on TCP and UDP on the same port (0: one the OS picks for TCP, then UDP takes it too).
   * "Every address" means IPv6 too: ICE may well pick an IPv6 pair, and the agent comes to the
   * address its media reached.
   */
  static async start(options: { host: string; port: number; log: Logger }): Promise<ProbeServer> {
    const host = options.host === '0.0.0.0' ? '::' : options.host;
    const tcp = createServer();
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(options.port, host, () => resolve());
    });
    const address = tcp.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => resolve());
      });
    } catch (error) {
      tcp.close();
      throw error;
    }
    udp.setRecvBufferSize(4 * 1024 * 1024);
    return new ProbeServer(tcp, udp, options.log);
  }

  get port(): number {
    const address = this.tcp.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** A token for one session's probe, valid until it expires. */
  issueToken(sessionId: string, expiresAt: Date): string {
    this.forgetExpired();
    const token = randomBytes(PROBE_TOKEN_BYTES * 0.75).toString('base64url');
    this.sessions.set(token, { sessionId, expiresAt: expiresAt.getTime(), steps: new Map(), connections: 0 });
    return token;
  }

  close(): Promise<void> {
    this.udp.close();
    return new Promise((resolve) => this.tcp.close(() => resolve()));
  }

  private live(token: string): Session | undefined {
    const session = this.sessions.get(token);
    return session && session.expiresAt > Date.now() ? session : undefined;
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [token, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(token);
  }

  private countDatagram(datagram: Buffer): void {
    if (datagram.length < PROBE_TOKEN_BYTES + 5 || datagram.length > 1500) return;
    const session = this.live(datagram.toString('latin1', 0, PROBE_TOKEN_BYTES));
    if (!session) return;
    const step = datagram[PROBE_TOKEN_BYTES] ?? 0;
    const now = performance.now();
    let count = session.steps.get(step);
    if (!count) {
      if (session.steps.size >= 32) return;
      count = { step, packets: 0, bytes: 0, firstMs: now, lastMs: now };
      session.steps.set(step, count);
    }
    count.packets += 1;
    count.bytes += datagram.length;
    count.lastMs = now;
  }

  private serve(socket: Socket): void {
    socket.setTimeout(MAX_UPLOAD_MS + 5_000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let header = '';
    const onHeader = (chunk: Buffer): void => {
      const text = chunk.toString('latin1');
      const end = text.indexOf('\n');
      if (end === -1) {
        header += text;
        if (header.length > HEADER_LIMIT) socket.destroy();
        return;
      }
      header += text.slice(0, end);
      socket.off('data', onHeader);
      const [magic, version, token = '', mode] = header.trim().split(' ');
      const session = magic === 'AVCARE-PROBE' && version === '1' ? this.live(token) : undefined;
      if (!session || session.connections >= MAX_CONNECTIONS_PER_TOKEN) {
        socket.destroy();
        return;
      }
      session.connections += 1;
      if (mode === 'report') {
        socket.end(`${JSON.stringify({ steps: [...session.steps.values()].sort((a, b) => a.step - b.step) })}\n`);
      } else if (mode === 'upload') {
        this.receiveUpload(socket, chunk.subarray(Buffer.byteLength(text.slice(0, end + 1), 'latin1')).length);
      } else {
        socket.destroy();
      }
    };
    socket.on('data', onHeader);
  }

  /** Counts what arrives until the client half-closes (or the caps), then says how much and how fast. */
  private receiveUpload(socket: Socket, already: number): void {
    const started = performance.now();
    let bytes = already;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      socket.end(`${JSON.stringify({ bytes, ms: Math.max(1, performance.now() - started) })}\n`);
    };
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_UPLOAD_BYTES || performance.now() - started > MAX_UPLOAD_MS) finish();
    });
    socket.on('end', finish);
    this.log.debug({ already }, 'bulk upload started');
  }
}
