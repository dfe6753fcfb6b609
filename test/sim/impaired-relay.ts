/**
 * A user-space UDP relay that impairs what passes through it, as netem would (this kernel has no
 * netem): one-way delay, jitter, random loss, and a rate cap (a token bucket with a queue, like
 * tbf). It carries one agent's UDP to one target and back, and keeps the ground truth of what it
 * did to the RTP packets of each direction: how many it dropped, the delay it added, and the
 * RFC 3550 jitter of that added delay, per SSRC.
 *
 * Each packet's delay is drawn on its own, as netem draws it: with jitter larger than the gap
 * between packets, a later packet may overtake an earlier one. The ground truth is kept in the
 * order packets leave, which is the order the receiver sees them in.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface Impairment {
  delayMs: number;
  /** The RFC 3550 jitter the added delay should show: delays vary uniformly over 3x this. */
  jitterMs: number;
  lossPercent: number;
  /** UDP rate cap in kbit/s; 0 for none. */
  rateKbps: number;
}

export const NO_IMPAIRMENT: Impairment = { delayMs: 0, jitterMs: 0, lossPercent: 0, rateKbps: 0 };

export interface DirectionTruth {
  rtpPackets: number;
  rtpDropped: number;
  /**
   * The packets the agent counts loss on, which nothing repairs: the audio (Opus) and the data
   * channel's (DTLS application data: the pings, and SCTP's acknowledgements with them).
   */
  countedPackets: number;
  countedDropped: number;
  /** Mean delay the relay added to the RTP packets it forwarded (queueing included). */
  meanAddedMs: number;
  /**
   * Jitter of the audio stream (Opus, payload type 111 in libwebrtc's offers) the relay added: the
   * mean of |D| of RFC 3550 §6.4.1 over consecutive packets that arrive in sequence (libwebrtc's
   * estimator skips one that arrives after a later one, receive_statistics_impl.cc), which is what
   * the estimator's running value averages to over a run.
   */
  audioJitterMs: number;
  /** The same over every packet in arrival order, as RFC 3550 §A.8 words it (reordered ones too). */
  audioJitterAllMs: number;
  bytesForwarded: number;
}

interface Direction {
  rtpPackets: number;
  rtpDropped: number;
  countedPackets: number;
  countedDropped: number;
  addedSum: number;
  forwarded: number;
  bytesForwarded: number;
  /** Rate cap: the time the link is busy until. */
  busyUntil: number;
  perSsrc: Map<number, SsrcTruth>;
}

interface SsrcTruth {
  payloadType: number;
  packets: number;
  highestSeq: number;
  /** Sum and count of |D| over in-sequence packets, and over all in arrival order. */
  sumD: number;
  countD: number;
  lastTransit: number | undefined;
  sumAll: number;
  countAll: number;
  lastTransitAll: number | undefined;
}

const OPUS_PAYLOAD_TYPE = 111;

function direction(): Direction {
  return { rtpPackets: 0, rtpDropped: 0, countedPackets: 0, countedDropped: 0, addedSum: 0, forwarded: 0, bytesForwarded: 0, busyUntil: 0, perSsrc: new Map() };
}

interface RtpHeader {
  ssrc: number;
  seq: number;
  payloadType: number;
}

/** RTP (RFC 3550 version 2, not RTCP's 192-223 in the second byte: RFC 5761 demultiplexing). SRTP leaves the header in clear. */
function rtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < 12 || (packet[0] ?? 0) >> 6 !== 2) return undefined;
  const second = packet[1] ?? 0;
  if (second >= 192 && second <= 223) return undefined;
  const payloadType = second & 0x7f;
  if (payloadType < 96) return undefined;
  return { ssrc: packet.readUInt32BE(8), seq: packet.readUInt16BE(2), payloadType };
}

/** Queued packets wait at most this long behind the rate cap, then are dropped (tbf's latency). */
const QUEUE_LIMIT_MS = 200;

export class ImpairedRelay {
  private readonly front: Socket;
  private readonly back: Socket;
  /**
   * One back socket per source the agent sends from, as a NAT keeps one mapping each: libwebrtc
   * sends checks from every socket it gathered (loopback too), and one shared mapping would hand
   * each socket's answers to the other.
   */
  private readonly mappings = new Map<string, Socket>();
  private readonly up = direction();
  private readonly down = direction();
  private impairment: Impairment;

  private constructor(
    front: Socket,
    back: Socket,
    private target: { address: string; port: number },
    impairment: Impairment,
  ) {
    this.front = front;
    this.back = back;
    this.impairment = impairment;
    front.on('message', (packet, from) => {
      const mapped = this.mappingFor(from);
      this.forward(packet, this.up, (out) => mapped.send(out, this.target.port, this.target.address));
    });
  }

  private mappingFor(from: RemoteInfo): Socket {
    const key = `${from.address}:${from.port}`;
    let socket = this.mappings.get(key);
    if (socket) return socket;
    // The first source gets the socket bound at start; later ones one of their own (sends wait for its bind).
    if (this.mappings.size === 0) socket = this.back;
    else {
      socket = createSocket('udp4');
      socket.bind(0, this.back.address().address);
    }
    socket.on('message', (packet) => this.forward(packet, this.down, (out) => this.front.send(out, from.port, from.address)));
    this.mappings.set(key, socket);
    return socket;
  }

  /** Listens on `host` (a free port); forwards to `target`. */
  static async start(host: string, target: { address: string; port: number }, impairment: Impairment = NO_IMPAIRMENT): Promise<ImpairedRelay> {
    const bind = (socket: Socket) => new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    const front = createSocket('udp4');
    const back = createSocket('udp4');
    await bind(front);
    await bind(back);
    for (const socket of [front, back]) {
      socket.setRecvBufferSize(4 * 1024 * 1024);
      socket.setSendBufferSize(4 * 1024 * 1024);
    }
    return new ImpairedRelay(front, back, target, impairment);
  }

  get port(): number {
    return this.front.address().port;
  }

  retarget(target: { address: string; port: number }): void {
    this.target = target;
  }

  setImpairment(impairment: Impairment): void {
    this.impairment = impairment;
  }

  truth(): { up: DirectionTruth; down: DirectionTruth } {
    return { up: summarise(this.up), down: summarise(this.down) };
  }

  close(): void {
    this.front.close();
    for (const socket of new Set([this.back, ...this.mappings.values()])) socket.close();
  }

  private forward(packet: Buffer, side: Direction, send: (packet: Buffer) => void): void {
    const { delayMs, jitterMs, lossPercent, rateKbps } = this.impairment;
    const now = performance.now();
    const rtp = rtpHeader(packet);
    const ssrc = rtp?.ssrc;
    // DTLS application data (content type 23, RFC 6347) carries the data channel's SCTP.
    const counted = rtp?.payloadType === OPUS_PAYLOAD_TYPE || packet[0] === 23;
    if (ssrc !== undefined) side.rtpPackets += 1;
    if (counted) side.countedPackets += 1;
    if (lossPercent > 0 && Math.random() * 100 < lossPercent) {
      if (ssrc !== undefined) side.rtpDropped += 1;
      if (counted) side.countedDropped += 1;
      return;
    }
    let departure = now + delayMs + (jitterMs > 0 ? Math.random() * 3 * jitterMs : 0);
    if (rateKbps > 0) {
      // The cap: each packet takes its serialisation time on the link; a packet that would wait too long is dropped.
      const start = Math.max(now, side.busyUntil);
      if (start - now > QUEUE_LIMIT_MS) {
        if (ssrc !== undefined) side.rtpDropped += 1;
        if (counted) side.countedDropped += 1;
        return;
      }
      side.busyUntil = start + (packet.length * 8) / rateKbps;
      departure = Math.max(departure, side.busyUntil);
    }
    const leave = (): void => {
      if (rtp !== undefined) {
        // What the relay added, in the order packets leave: the order the receiver sees them in.
        const added = performance.now() - now;
        side.addedSum += added;
        side.forwarded += 1;
        track(side, rtp, added);
      }
      side.bytesForwarded += packet.length;
      send(packet);
    };
    const wait = departure - performance.now();
    if (wait <= 0.5) leave();
    else setTimeout(leave, wait);
  }
}

function track(side: Direction, rtp: RtpHeader, added: number): void {
  let stream = side.perSsrc.get(rtp.ssrc);
  if (!stream) {
    stream = { payloadType: rtp.payloadType, packets: 0, highestSeq: rtp.seq - 1, sumD: 0, countD: 0, lastTransit: undefined, sumAll: 0, countAll: 0, lastTransitAll: undefined };
    side.perSsrc.set(rtp.ssrc, stream);
  }
  stream.packets += 1;
  if (stream.lastTransitAll !== undefined) {
    stream.sumAll += Math.abs(added - stream.lastTransitAll);
    stream.countAll += 1;
  }
  stream.lastTransitAll = added;
  // In sequence: ahead of the highest seen, modulo 2^16.
  const ahead = (rtp.seq - stream.highestSeq + 65_536) % 65_536;
  if (ahead === 0 || ahead >= 32_768) return;
  stream.highestSeq = rtp.seq;
  if (stream.lastTransit !== undefined) {
    stream.sumD += Math.abs(added - stream.lastTransit);
    stream.countD += 1;
  }
  stream.lastTransit = added;
}

function summarise(side: Direction): DirectionTruth {
  const audio = [...side.perSsrc.values()].find((stream) => stream.payloadType === OPUS_PAYLOAD_TYPE);
  return {
    rtpPackets: side.rtpPackets,
    rtpDropped: side.rtpDropped,
    countedPackets: side.countedPackets,
    countedDropped: side.countedDropped,
    meanAddedMs: side.forwarded > 0 ? side.addedSum / side.forwarded : 0,
    audioJitterMs: audio && audio.countD > 0 ? audio.sumD / audio.countD : 0,
    audioJitterAllMs: audio && audio.countAll > 0 ? audio.sumAll / audio.countAll : 0,
    bytesForwarded: side.bytesForwarded,
  };
}
