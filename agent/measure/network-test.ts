/**
 * The network test: classroom-sized audio (Opus) and video (VP8, 1280x720 at 1.5 Mbit/s) to the
 * cloud's reflector and back, for a set time; both directions' loss, jitter, bitrate, frame rate
 * and freezes, the round trip, and the E-model of the worse direction.
 */
import { performance } from 'node:perf_hooks';
import type { NetworkResult, ThrottleResult } from '../../protocol/measure-result.js';
import { checkThrottling } from './throttle-check.js';
import { reflectorReportSchema, FreezeCounter, JitterAverager, framesDecoded, receivedMedia, statsOf, type ReflectorReport, type StatsReport } from '../../protocol/rtc-stats.js';
import { loadWebRtc, type DataChannel } from '../../protocol/webrtc.js';
import { PING_CHANNEL, REPORT_CHANNEL } from '../../protocol/measure-signal.js';
import { summariseNetwork } from './network-summary.js';
import { connectToReflector, within, type SignalLink } from './signal-link.js';
import { SyntheticMedia } from './synthetic-media.js';

export interface NetworkTestOptions {
  link: SignalLink;
  durationMs?: number | undefined;
  width?: number | undefined;
  height?: number | undefined;
  fps?: number | undefined;
  bitrateKbps?: number | undefined;
  /** Also check whether the network holds media back (about 6 s more); on unless false. */
  throttleCheck?: boolean | undefined;
  /** Told every second while media flows, and at each step before. */
  onProgress?: (progress: NetworkProgress) => void;
  signal?: AbortSignal;
}

export type NetworkProgress =
  | { phase: 'requesting' | 'connecting' | 'throttling' | 'finishing' }
  | { phase: 'measuring'; elapsedMs: number; durationMs: number; rttMs: number | null; downKbps: number };

export const NETWORK_DEFAULTS = { durationMs: 20_000, width: 1280, height: 720, fps: 30, bitrateKbps: 1500 } as const;
const SAMPLE_MS = 100;

export async function runNetworkTest(options: NetworkTestOptions): Promise<NetworkResult> {
  const { link, onProgress, signal } = options;
  const durationMs = options.durationMs ?? NETWORK_DEFAULTS.durationMs;
  const width = options.width ?? NETWORK_DEFAULTS.width;
  const height = options.height ?? NETWORK_DEFAULTS.height;
  const fps = options.fps ?? NETWORK_DEFAULTS.fps;
  const bitrateKbps = options.bitrateKbps ?? NETWORK_DEFAULTS.bitrateKbps;
  const rtc = loadWebRtc();
  const peer = new rtc.RTCPeerConnection();
  const videoSource = new rtc.nonstandard.RTCVideoSource();
  const audioSource = new rtc.nonstandard.RTCAudioSource();
  const videoTrack = videoSource.createTrack();
  const audioTrack = audioSource.createTrack();
  const timers: NodeJS.Timeout[] = [];
  let connected: Awaited<ReturnType<typeof connectToReflector>> | undefined;
  try {
    peer.addTransceiver(videoTrack, { direction: 'sendrecv' });
    peer.addTransceiver(audioTrack, { direction: 'sendrecv' });
    const channel = peer.createDataChannel(REPORT_CHANNEL);
    // Unordered and never resent: a lost ping is simply not counted.
    const pings = new PingMeter(peer.createDataChannel(PING_CHANNEL, { ordered: false, maxRetransmits: 0 }));
    onProgress?.({ phase: 'requesting' });
    connected = await connectToReflector({ link, peer, test: 'network', videoKbps: bitrateKbps, ...(signal ? { signal } : {}) });
    onProgress?.({ phase: 'connecting' });

    const media = new SyntheticMedia(videoSource, audioSource, { width, height, fps });
    const freezes = new FreezeCounter();
    const jitter = new JitterAverager();
    const start = performance.now();
    const elapsed = (): number => performance.now() - start;
    timers.push(setInterval(() => media.pump(elapsed()), 5));
    timers.push(setInterval(() => pings.send(), PING_INTERVAL_MS));
    let lastProgress = 0;
    let lastBytes = 0;
    timers.push(
      setInterval(() => {
        void peer.getStats().then((stats) => {
          const at = elapsed();
          freezes.sample(at, framesDecoded(stats));
          jitter.sample(stats);
          if (at - lastProgress < 1000) return;
          const bytes = statsOf(stats, 'inbound-rtp').reduce((sum, entry) => sum + (typeof entry['bytesReceived'] === 'number' ? entry['bytesReceived'] : 0), 0);
          onProgress?.({ phase: 'measuring', elapsedMs: Math.round(at), durationMs, rttMs: pings.medianMs() ?? meanRtt(stats).rttMs, downKbps: Math.round(((bytes - lastBytes) * 8) / (at - lastProgress)) });
          lastProgress = at;
          lastBytes = bytes;
        }, () => undefined);
      }, SAMPLE_MS),
    );
    await within(new Promise((resolve) => timers.push(setTimeout(resolve, durationMs))), durationMs + 5_000, signal, 'the test');
    for (const timer of timers.splice(0)) clearInterval(timer);
    onProgress?.({ phase: 'finishing' });

    const wallMs = elapsed();
    freezes.finish(wallMs);
    // The last pings are still on their way: wait them out before the reflector counts what reached it.
    await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, Math.max(500, 3 * (pings.medianMs() ?? 0)))));
    const report = await askReport(channel, signal).catch(() => null);
    const stats = await peer.getStats();
    const down = receivedMedia(stats, wallMs, freezes, jitter);
    let throttle: ThrottleResult | null = null;
    const bulk = connected.bulk;
    const host = bulk?.host ?? reflectorAddress(stats);
    if (bulk && host !== undefined && options.throttleCheck !== false) {
      onProgress?.({ phase: 'throttling' });
      throttle = await checkThrottling({ host, udpPort: bulk.udpPort, tcpPort: bulk.tcpPort, token: bulk.token, ...(signal ? { signal } : {}) }).catch(
        (error: unknown): ThrottleResult => ({ steps: [], bulkKbps: null, mediaKbps: 0, capKbps: null, throttled: false, note: `the check could not run: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300) }),
      );
    }
    return summariseNetwork({
      reflectorId: connected.grant.reflectorId,
      sessionId: connected.grant.sessionId,
      durationMs: Math.round(wallMs),
      down,
      up: report?.received ?? null,
      pings: { sent: pings.sent, reached: report?.pingsReceived ?? null, returned: pings.samples },
      ...roundTrip(pings, stats),
      availableOutgoingKbps: availableOutgoing(stats),
      throttle,
    });
  } finally {
    for (const timer of timers) clearInterval(timer);
    await connected?.close();
    videoTrack.stop();
    audioTrack.stop();
    peer.close();
  }
}

/** The reflector's account of the way up, over the data channel. */
function askReport(channel: DataChannel, signal: AbortSignal | undefined): Promise<ReflectorReport> {
  const answer = new Promise<ReflectorReport>((resolve, reject) => {
    channel.onmessage = ({ data }) => {
      if (typeof data !== 'string') return;
      try {
        const parsed = reflectorReportSchema.safeParse(JSON.parse(data));
        if (parsed.success) resolve(parsed.data);
        else reject(new Error(`the reflector's report is invalid: ${parsed.error.issues[0]?.message ?? ''}`));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    };
  });
  if (channel.readyState === 'open') channel.send(JSON.stringify({ type: 'report' }));
  else channel.onopen = () => channel.send(JSON.stringify({ type: 'report' }));
  return within(answer, 3_000, signal, "the reflector's report on the way up");
}

/**
 * Round trips: from pings over the data channel every 20 ms (a thousand samples, so a path with
 * jitter still gives a close mean); from RTCP (one a second at best) only when no ping came back.
 */
function roundTrip(pings: PingMeter, stats: StatsReport): { rttMs: number | null; rttSamples: number; rttRtcpMs: number | null } {
  const rtcp = meanRtt(stats);
  const mean = pings.medianMs();
  return mean === null ? { ...rtcp, rttRtcpMs: rtcp.rttMs } : { rttMs: mean, rttSamples: pings.samples, rttRtcpMs: rtcp.rttMs };
}

/** 50 a second: with the audio, enough packets that nothing repairs to read loss to within a point. */
const PING_INTERVAL_MS = 20;

/**
 * The median, not the mean: a ping SCTP held back behind a lost packet (its congestion window
 * shrinks on loss) is late for SCTP's sake, not the path's; such outliers are all on one side.
 */
class PingMeter {
  sent = 0;
  private readonly rtts: number[] = [];

  constructor(private readonly channel: DataChannel) {
    channel.onmessage = ({ data }) => {
      if (typeof data !== 'string') return;
      const sentAt = Number(data.split(' ')[1]);
      if (!Number.isFinite(sentAt)) return;
      this.rtts.push(performance.now() - sentAt);
    };
  }

  get samples(): number {
    return this.rtts.length;
  }

  send(): void {
    if (this.channel.readyState !== 'open') return;
    this.sent += 1;
    this.channel.send(`ping ${performance.now()} ${this.sent}`);
  }

  medianMs(): number | null {
    if (this.rtts.length === 0) return null;
    const sorted = [...this.rtts].sort((a, b) => a - b);
    const middle = (sorted.length - 1) / 2;
    return Math.round((((sorted[Math.floor(middle)] ?? 0) + (sorted[Math.ceil(middle)] ?? 0)) / 2) * 10) / 10;
  }
}

/** RTT from RTCP of both streams: the mean of every measurement over the run. */
function meanRtt(stats: StatsReport): { rttMs: number | null; rttSamples: number } {
  let total = 0;
  let samples = 0;
  for (const entry of statsOf(stats, 'remote-inbound-rtp')) {
    const count = entry['roundTripTimeMeasurements'];
    const sum = entry['totalRoundTripTime'];
    if (typeof count === 'number' && typeof sum === 'number' && count > 0) {
      total += sum;
      samples += count;
    }
  }
  return { rttMs: samples > 0 ? Math.round((total / samples) * 10_000) / 10 : null, rttSamples: samples };
}

/** The address the media reached the reflector at: the remote end of the selected candidate pair. */
function reflectorAddress(stats: StatsReport): string | undefined {
  const pair = statsOf(stats, 'candidate-pair').find((entry) => entry['nominated'] === true && entry['state'] === 'succeeded');
  const remote = statsOf(stats, 'remote-candidate').find((entry) => entry.id === pair?.['remoteCandidateId']);
  const address = remote?.['address'] ?? remote?.['ip'];
  return typeof address === 'string' ? address : undefined;
}

function availableOutgoing(stats: StatsReport): number | null {
  const pair = statsOf(stats, 'candidate-pair').find((entry) => entry['nominated'] === true && typeof entry['availableOutgoingBitrate'] === 'number');
  return pair ? Math.round((pair['availableOutgoingBitrate'] as number) / 1000) : null;
}
