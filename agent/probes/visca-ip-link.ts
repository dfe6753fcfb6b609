import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { AvcareError } from '../../protocol/index.js';
import { silentLogger, type Logger } from '../../protocol/log.js';
import { where, type ViscaIpEndpoint, type ViscaIpLink, type ViscaIpLinkOptions, type ViscaIpLinkStats } from './visca-ip-endpoint.js';
import { looksLikeSonyDatagram, readSonyMessage, sequenceReset, wrapVisca } from './visca-ip-framing.js';
import { openTcpViscaLink } from './visca-tcp-link.js';
import { toHex } from './visca.js';

export { where, type ViscaFraming, type ViscaIpEndpoint, type ViscaIpLink, type ViscaIpLinkOptions, type ViscaIpLinkStats } from './visca-ip-endpoint.js';

const DEFAULT_RETRANSMIT_MS = 250;
const DEFAULT_MAX_SENDS = 4;
const DEFAULT_RESET_WAIT_MS = 300;
/** Raw UDP has no sequence number: the same bytes again this soon are the network's duplicate, not a new answer. */
const RAW_DUPLICATE_WINDOW_MS = 500;

export async function openViscaIpLink(endpoint: ViscaIpEndpoint, options: ViscaIpLinkOptions = {}): Promise<ViscaIpLink> {
  options.signal?.throwIfAborted();
  if (endpoint.framing === 'raw-tcp') return openTcpViscaLink(endpoint, options);
  const { address, family } = await resolve(endpoint.host);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const link = endpoint.framing === 'sony-ip' ? new SonyUdpLink(endpoint, socket, options) : new RawUdpLink(endpoint, socket, options);
  try {
    // A connected socket hears only the camera: a datagram from anyone else on the LAN is dropped by the OS.
    await new Promise<void>((done, fail) => {
      socket.once('error', fail);
      socket.connect(endpoint.port, address, () => {
        socket.off('error', fail);
        done();
      });
    });
  } catch (error) {
    await link.close();
    throw new AvcareError('VISCA_CONNECT_FAILED', `cannot reach ${where(endpoint)}: ${reasonOf(error)}`, { host: endpoint.host, port: endpoint.port, raw: '' }, { cause: error });
  }
  return link;
}

async function resolve(host: string): Promise<{ address: string; family: number }> {
  try {
    return await lookup(host);
  } catch (error) {
    throw new AvcareError('VISCA_CONNECT_FAILED', `cannot resolve camera address ${host}: ${reasonOf(error)}`, { host, raw: '' }, { cause: error });
  }
}

/** What UDP links share: listeners, retransmission of the datagram in flight, statistics, closing. */
abstract class UdpViscaLink implements ViscaIpLink {
  protected readonly listeners = new Set<(bytes: Uint8Array) => void>();
  protected readonly unreadableListeners = new Set<(raw: Uint8Array, reason: string) => void>();
  protected readonly counters: ViscaIpLinkStats = { sent: 0, retransmitted: 0, received: 0, duplicatesDropped: 0, staleDropped: 0, sequenceResets: 0 };
  protected readonly log: Logger;
  protected readonly retransmitMs: number;
  protected readonly maxSends: number;
  private retransmitTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  protected closed = false;

  constructor(
    readonly endpoint: ViscaIpEndpoint,
    protected readonly socket: UdpSocket,
    options: ViscaIpLinkOptions,
  ) {
    this.log = options.log ?? silentLogger;
    this.retransmitMs = options.retransmitMs ?? DEFAULT_RETRANSMIT_MS;
    this.maxSends = options.maxSends ?? DEFAULT_MAX_SENDS;
    socket.on('message', (datagram: Buffer) => {
      this.counters.received += 1;
      this.receive(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.byteLength));
    });
    // ICMP "port unreachable" and the like surface here; the inquiry's timeout reports the silence.
    socket.on('error', (error) => this.log.debug({ err: error, endpoint: where(endpoint) }, 'VISCA UDP socket error'));
  }

  abstract write(bytes: Uint8Array): Promise<void>;
  protected abstract receive(datagram: Uint8Array): void;

  onData(listener: (bytes: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onUnreadable(listener: (raw: Uint8Array, reason: string) => void): () => void {
    this.unreadableListeners.add(listener);
    return () => this.unreadableListeners.delete(listener);
  }

  stats(): ViscaIpLinkStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((done) => {
      this.closed = true;
      this.stopRetransmitting();
      this.listeners.clear();
      this.unreadableListeners.clear();
      try {
        this.socket.close(() => done());
      } catch {
        // Closing a socket whose connect failed throws "not running": it holds nothing then.
        done();
      }
    });
    return this.closing;
  }

  protected emit(bytes: Uint8Array): void {
    for (const listener of this.listeners) listener(bytes);
  }

  protected unreadable(raw: Uint8Array, reason: string): void {
    this.stopRetransmitting();
    for (const listener of this.unreadableListeners) listener(raw, reason);
  }

  /**
   * Sends `datagram` now and again every retransmitMs until answered() or maxSends. Only
   * inquiries and IF_Clear travel this way: both are harmless when a camera gets them twice.
   */
  protected async sendWithRetries(datagram: () => Uint8Array): Promise<void> {
    this.stopRetransmitting();
    await this.send(datagram());
    let sends = 1;
    const again = (): void => {
      if (this.closed || sends >= this.maxSends) return;
      sends += 1;
      this.counters.retransmitted += 1;
      this.send(datagram()).then(
        () => {
          this.retransmitTimer = setTimeout(again, this.retransmitMs);
        },
        (error: unknown) => this.log.debug({ err: error }, 'VISCA retransmission failed'),
      );
    };
    this.retransmitTimer = setTimeout(again, this.retransmitMs);
  }

  protected stopRetransmitting(): void {
    clearTimeout(this.retransmitTimer);
    this.retransmitTimer = undefined;
  }

  protected send(datagram: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new AvcareError('VISCA_CONNECT_FAILED', `the link to ${where(this.endpoint)} is closed`, { raw: '' }));
    this.counters.sent += 1;
    return new Promise((done, fail) => {
      this.socket.send(datagram, (error) => {
        if (error) fail(new AvcareError('VISCA_CONNECT_FAILED', `sending to ${where(this.endpoint)} failed: ${error.message}`, { raw: '' }, { cause: error }));
        else done();
      });
    });
  }
}

/**
 * Sony's framing. The sequence number makes the network's tricks visible: a reply carrying an
 * older number is late, the same reply twice is a duplicate, and a camera that expected another
 * number says so (0F 01), after which the link resets the sequence and sends again once.
 */
class SonyUdpLink extends UdpViscaLink {
  private sequence = 0;
  private readonly resetWaitMs: number;
  private resetDone = false;
  private resetAck: (() => void) | undefined;
  private inFlight: { packet: Uint8Array; sequence: number; delivered: Set<string>; resynced: boolean } | undefined;

  constructor(endpoint: ViscaIpEndpoint, socket: UdpSocket, options: ViscaIpLinkOptions) {
    super(endpoint, socket, options);
    this.resetWaitMs = options.resetWaitMs ?? DEFAULT_RESET_WAIT_MS;
  }

  async write(packet: Uint8Array): Promise<void> {
    // Many cameras ignore or refuse commands until the controller has reset the sequence.
    if (!this.resetDone) await this.resetSequence();
    this.sequence += 1;
    const inFlight = { packet: Uint8Array.from(packet), sequence: this.sequence, delivered: new Set<string>(), resynced: false };
    this.inFlight = inFlight;
    await this.sendWithRetries(() => wrapVisca(inFlight.packet, inFlight.sequence));
  }

  /** Resolves when the camera acknowledged, or after resetWaitMs: some cameras never acknowledge and still work. */
  private async resetSequence(): Promise<void> {
    this.sequence = 0;
    this.counters.sequenceResets += 1;
    const acknowledged = new Promise<void>((done) => {
      const timer = setTimeout(done, this.resetWaitMs);
      this.resetAck = () => {
        clearTimeout(timer);
        done();
      };
    });
    await this.sendWithRetries(() => sequenceReset(0));
    await acknowledged;
    this.stopRetransmitting();
    this.resetAck = undefined;
    this.resetDone = true;
  }

  protected receive(datagram: Uint8Array): void {
    const message = readSonyMessage(datagram);
    const inFlight = this.inFlight;
    switch (message.kind) {
      case 'reset-ack':
        this.resetAck?.();
        return;
      case 'sequence-error':
        if (inFlight === undefined || inFlight.resynced) return;
        inFlight.resynced = true;
        this.log.debug({ endpoint: where(this.endpoint) }, 'camera expected another VISCA sequence number: resetting it');
        this.resetDone = false;
        this.stopRetransmitting();
        this.resend(inFlight);
        return;
      case 'message-error':
        if (inFlight !== undefined) this.unreadable(datagram, 'the camera did not understand the VISCA-over-IP message (control reply 0F 02)');
        return;
      case 'garbled':
        // Not passed on as bytes: a camera speaking raw VISCA would otherwise pass for a Sony one.
        if (inFlight !== undefined) this.unreadable(datagram, `not a Sony VISCA-over-IP datagram (${message.reason})`);
        return;
      case 'reply': {
        if (inFlight === undefined || message.sequence !== inFlight.sequence) {
          this.counters.staleDropped += 1;
          return;
        }
        const key = toHex(message.payload);
        if (inFlight.delivered.has(key)) {
          this.counters.duplicatesDropped += 1;
          return;
        }
        inFlight.delivered.add(key);
        this.stopRetransmitting();
        this.emit(message.payload);
        return;
      }
    }
  }

  private resend(inFlight: NonNullable<SonyUdpLink['inFlight']>): void {
    this.resetSequence()
      .then(() => {
        this.sequence += 1;
        inFlight.sequence = this.sequence;
        return this.sendWithRetries(() => wrapVisca(inFlight.packet, inFlight.sequence));
      })
      .catch((error: unknown) => this.log.debug({ err: error }, 'sending again after a sequence reset failed'));
  }
}

/** Bare VISCA bytes in each datagram: no sequence number, so duplicates are told by their bytes and timing. */
class RawUdpLink extends UdpViscaLink {
  private answered = false;
  private lastDelivered: { hex: string; at: number } | undefined;

  async write(packet: Uint8Array): Promise<void> {
    this.answered = false;
    const copy = Uint8Array.from(packet);
    await this.sendWithRetries(() => copy);
  }

  protected receive(datagram: Uint8Array): void {
    const hex = toHex(datagram);
    const now = Date.now();
    if (this.lastDelivered?.hex === hex && now - this.lastDelivered.at < RAW_DUPLICATE_WINDOW_MS) {
      this.counters.duplicatesDropped += 1;
      return;
    }
    this.lastDelivered = { hex, at: now };
    if (looksLikeSonyDatagram(datagram)) {
      this.unreadable(datagram, 'a Sony VISCA-over-IP datagram: this camera wants framing "sony-ip"');
      return;
    }
    if (!this.answered) {
      this.answered = true;
      this.stopRetransmitting();
    }
    this.emit(datagram);
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
