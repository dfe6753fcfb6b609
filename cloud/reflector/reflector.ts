/**
 * The cloud's end of a measurement: a WebRTC peer that sends every agent's audio and video straight
 * back (each transceiver's sender carries its own receiver's track), and tells the agent over a
 * data channel what it received on the way up. One peer per session, sessions only by grant.
 */
import type { Logger } from 'pino';
import { PING_CHANNEL, type AgentSignal, type CloudSignal, type SignalSender } from '../../protocol/measure-signal.js';
import { FreezeCounter, JitterAverager, framesDecoded, receivedMedia, type ReflectorReport } from '../../protocol/rtc-stats.js';
import { loadWebRtc, type DataChannel, type IceCandidate, type PeerConnection, type WebRtc } from '../../protocol/webrtc.js';
import { checkGrant } from './grant-check.js';
import { announceCandidate, announceSdp } from './sdp-candidates.js';

export interface ReflectorOptions {
  id: string;
  cloudPublicKeyPem: string;
  /** Publishes to the agent's signalling inbox. */
  send(to: { school: string; agent: string }, message: CloudSignal): Promise<void>;
  log: Logger;
  /** The address agents reach this reflector at (NAT, a relay), announced instead of the bound one. */
  announceAddress?: string;
  /** UDP ports the media may use, for a firewall rule. */
  portRange?: { min: number; max: number };
  maxSessions?: number;
  /** A session ends after this long whatever the agent does. */
  maxSessionSeconds?: number;
  /** The probe port of the throttling check, offered in the answer. */
  bulk?: { port: number; issueToken(sessionId: string, expiresAt: Date): string };
  now?: () => Date;
}

interface Session {
  id: string;
  owner: { school: string; agent: string };
  peer: PeerConnection;
  startedAt: number;
  freezes: FreezeCounter;
  jitter: JitterAverager;
  pingsReceived: number;
  timers: NodeJS.Timeout[];
  /** Candidates and bye wait for the offer's own handling to finish. */
  ready: Promise<void>;
}

const DEFAULT_MAX_SESSIONS = 8;
const DEFAULT_MAX_SESSION_SECONDS = 180;
/** Grants are one-use; remembered for longer than any grant lives. */
const USED_TTL_MS = 30 * 60_000;
const STATS_SAMPLE_MS = 100;
const MAX_PING_CHARS = 128;

/** The agent's round-trip pings: each one straight back, as it came, and counted. */
function echoPings(channel: DataChannel, counted: () => void): void {
  channel.onmessage = ({ data }) => {
    if (typeof data !== 'string' || data.length > MAX_PING_CHARS) return;
    counted();
    if (channel.readyState === 'open') channel.send(data);
  };
}

export class Reflector {
  private readonly sessions = new Map<string, Session>();
  private readonly used = new Map<string, number>();
  private readonly log: Logger;
  private readonly now: () => Date;
  private rtc: WebRtc | undefined;
  private closed = false;

  constructor(private readonly options: ReflectorOptions) {
    this.log = options.log.child({ module: 'reflector', reflector: options.id });
    this.now = options.now ?? (() => new Date());
  }

  get id(): string {
    return this.options.id;
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /** One signalling message from an agent (already parsed against its schema). */
  async handle(from: SignalSender, signal: AgentSignal): Promise<void> {
    if (this.closed) return;
    switch (signal.type) {
      case 'offer':
        return this.offer(from, signal);
      case 'candidate': {
        const session = this.ownedSession(from, signal.sessionId);
        if (!session) return;
        await session.ready;
        await session.peer.addIceCandidate(signal.candidate as IceCandidate).catch((error: unknown) => {
          this.log.debug({ err: error, session: session.id }, 'an ICE candidate from the agent was not usable');
        });
        return;
      }
      case 'bye': {
        const session = this.ownedSession(from, signal.sessionId);
        if (session) this.end(session, 'the agent said bye');
        return;
      }
      case 'measure-request':
        // The cloud's to answer, not a reflector's.
        return;
    }
  }

  close(): void {
    this.closed = true;
    for (const session of [...this.sessions.values()]) this.end(session, 'the reflector is stopping');
  }

  private ownedSession(from: SignalSender, sessionId: string): Session | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    if (session.owner.school !== from.school || session.owner.agent !== from.agent) {
      this.log.warn({ session: sessionId, from: `${from.school}/${from.agent}` }, 'signalling for a session of another agent; ignored');
      return undefined;
    }
    return session;
  }

  private async offer(from: SignalSender, signal: Extract<AgentSignal, { type: 'offer' }>): Promise<void> {
    const to = { school: from.school, agent: from.agent };
    const refuse = async (reason: string): Promise<void> => {
      this.log.warn({ session: signal.sessionId, agent: `${from.school}/${from.agent}`, reason }, 'refused a measurement session');
      await this.options.send(to, { type: 'session-refused', sessionId: signal.sessionId, reason });
    };
    this.forgetOldGrants();
    const check = checkGrant(signal.grant, signal.sessionId, {
      from,
      reflectorId: this.options.id,
      cloudPublicKeyPem: this.options.cloudPublicKeyPem,
      now: this.now(),
      isUsed: (id) => this.used.has(id) || this.sessions.has(id),
    });
    if (!check.ok) {
      // Another reflector's grant is that reflector's business: stay silent rather than refuse it.
      if (check.reason.startsWith('the grant names reflector')) return;
      return refuse(check.reason);
    }
    if (this.sessions.size >= (this.options.maxSessions ?? DEFAULT_MAX_SESSIONS)) return refuse('the reflector is busy; try again in a minute');
    this.used.set(signal.sessionId, Date.now());

    this.rtc ??= loadWebRtc();
    const peer = new this.rtc.RTCPeerConnection(this.options.portRange ? { portRange: this.options.portRange } : {});
    let markReady!: () => void;
    const session: Session = {
      id: signal.sessionId,
      owner: to,
      peer,
      startedAt: Date.now(),
      freezes: new FreezeCounter(),
      jitter: new JitterAverager(),
      pingsReceived: 0,
      timers: [],
      ready: new Promise<void>((resolve) => (markReady = resolve)),
    };
    this.sessions.set(session.id, session);
    const expiresIn = Math.min(Date.parse(check.grant.expiresAt) - this.now().getTime() + 60_000, (this.options.maxSessionSeconds ?? DEFAULT_MAX_SESSION_SECONDS) * 1000);
    session.timers.push(setTimeout(() => this.end(session, 'the session reached its time limit'), Math.max(1_000, expiresIn)));
    try {
      peer.onicecandidate = ({ candidate }) => {
        if (!candidate) return;
        const plain = typeof candidate.toJSON === 'function' ? candidate.toJSON() : candidate;
        const line = this.options.announceAddress === undefined ? plain.candidate : announceCandidate(plain.candidate, this.options.announceAddress);
        void this.options
          .send(to, { type: 'candidate', sessionId: session.id, candidate: { candidate: line, sdpMid: plain.sdpMid ?? null, sdpMLineIndex: plain.sdpMLineIndex ?? null } })
          .catch((error: unknown) => this.log.debug({ err: error }, 'sending a candidate failed'));
      };
      peer.onconnectionstatechange = () => {
        if (peer.connectionState === 'failed' || peer.connectionState === 'closed') this.end(session, `the connection ${peer.connectionState}`);
      };
      peer.ondatachannel = ({ channel }) => {
        if (channel.label === PING_CHANNEL) echoPings(channel, () => (session.pingsReceived += 1));
        else this.serveReports(session, channel);
      };
      try {
        await peer.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
      } catch (error) {
        this.end(session, 'malformed offer');
        return refuse(`the offer's SDP was not accepted: ${(error as Error).message.slice(0, 200)}`);
      }
      for (const transceiver of peer.getTransceivers()) {
        transceiver.direction = 'sendrecv';
        await transceiver.sender.replaceTrack(transceiver.receiver.track);
      }
      const answer = await peer.createAnswer();
      await peer.setLocalDescription(answer);
      const sdp = this.options.announceAddress === undefined ? answer.sdp : announceSdp(answer.sdp, this.options.announceAddress);
      const bulk = this.options.bulk;
      await this.options.send(to, {
        type: 'answer',
        sessionId: session.id,
        sdp,
        ...(bulk
          ? {
              bulk: {
                ...(this.options.announceAddress === undefined ? {} : { host: this.options.announceAddress }),
                tcpPort: bulk.port,
                udpPort: bulk.port,
                token: bulk.issueToken(session.id, new Date(Date.now() + expiresIn)),
              },
            }
          : {}),
      });
      session.timers.push(setInterval(() => void this.sampleFreezes(session), STATS_SAMPLE_MS));
      this.log.info({ session: session.id, agent: `${to.school}/${to.agent}`, test: check.grant.test }, 'measurement session started');
    } catch (error) {
      this.end(session, 'setting up the peer failed');
      this.log.error({ err: error, session: session.id }, 'a measurement session could not be set up');
      await this.options.send(to, { type: 'session-refused', sessionId: session.id, reason: 'the reflector could not set up the session' }).catch(() => undefined);
    } finally {
      markReady();
    }
  }

  private async sampleFreezes(session: Session): Promise<void> {
    if (!this.sessions.has(session.id)) return;
    try {
      const stats = await session.peer.getStats();
      session.freezes.sample(Date.now() - session.startedAt, framesDecoded(stats));
      session.jitter.sample(stats);
    } catch (error) {
      this.log.debug({ err: error, session: session.id }, 'reading stats failed');
    }
  }

  /** The agent asks `{"type":"report"}` at the end of its run and gets what came up. */
  private serveReports(session: Session, channel: DataChannel): void {
    channel.onmessage = ({ data }) => {
      if (typeof data !== 'string' || data.length > 256) return;
      let request: unknown;
      try {
        request = JSON.parse(data);
      } catch {
        return;
      }
      if ((request as { type?: unknown } | null)?.type !== 'report') return;
      void session.peer.getStats().then(
        (stats) => {
          const elapsed = Date.now() - session.startedAt;
          session.freezes.finish(elapsed);
          const report: ReflectorReport = { type: 'report', received: receivedMedia(stats, elapsed, session.freezes, session.jitter), pingsReceived: session.pingsReceived };
          if (channel.readyState === 'open') channel.send(JSON.stringify(report));
        },
        (error: unknown) => this.log.debug({ err: error }, 'reading stats for a report failed'),
      );
    };
  }

  private end(session: Session, why: string): void {
    if (this.sessions.get(session.id) !== session) return;
    this.sessions.delete(session.id);
    for (const timer of session.timers) clearTimeout(timer);
    session.peer.onconnectionstatechange = null;
    session.peer.close();
    this.log.info({ session: session.id, why, seconds: Math.round((Date.now() - session.startedAt) / 1000) }, 'measurement session ended');
  }

  private forgetOldGrants(): void {
    const before = Date.now() - USED_TTL_MS;
    for (const [id, at] of this.used) if (at < before) this.used.delete(id);
  }
}
