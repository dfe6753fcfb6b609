/**
 * A/V sync of the WebRTC pipeline itself: synthetic flash-and-beep markers from a sender peer
 * through VP8 and Opus encode, transport and decode to a receiver peer in the same process. What
 * it measures is the pipeline's own offset (mostly the audio jitter buffer): the baseline a room
 * measurement is corrected by, and the check that the measuring chain works on this PC.
 */
import { performance } from 'node:perf_hooks';
import { loadWebRtc, type PeerConnection } from '../../protocol/webrtc.js';
import { AudioOnsetDetector, MARKER, VideoOnsetDetector, markerSchedule, meanLuma, pairMarkers, senderLuma, senderSamples, syncSummary, type MarkerPair, type SyncSummary } from './av-markers.js';

export interface LoopbackOptions {
  markers?: number;
  intervalMs?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Moves every beep later (positive) on the sender: an injected offset, for calibration and tests. */
  audioShiftMs?: number;
  /** Per marker instead: marker i's beep moves by audioShiftFor(i), so one run holds reference and shifted markers alike. */
  audioShiftFor?: (index: number) => number;
  /** Media before the first marker, so the audio jitter buffer has settled when markers start. */
  leadInMs?: number;
  signal?: AbortSignal;
}

export interface LoopbackResult {
  summary: SyncSummary;
  pairs: MarkerPair[];
  /** Which marker each pair is (index into the schedule), by the flash's time. */
  markerOfPair: number[];
  framesReceived: number;
  audioChunksReceived: number;
}

const AUDIO_RATE = 48_000;
const AUDIO_CHUNK_MS = 10;

export async function measurePipelineSync(options: LoopbackOptions = {}): Promise<LoopbackResult> {
  const { markers = 12, intervalMs = MARKER.intervalMs, width = 640, height = 360, fps = 30, audioShiftMs = 0, audioShiftFor, leadInMs = 1500, signal } = options;
  const rtc = loadWebRtc();
  const sender = new rtc.RTCPeerConnection();
  const receiver = new rtc.RTCPeerConnection();
  const video = new VideoOnsetDetector();
  const audio = new AudioOnsetDetector();
  const start = performance.now();
  const elapsed = (): number => performance.now() - start;
  let framesReceived = 0;
  let audioChunksReceived = 0;
  const sinks: { stop(): void }[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    receiver.ontrack = ({ track }) => {
      if (track.kind === 'video') {
        const sink = new rtc.nonstandard.RTCVideoSink(track);
        sink.onframe = ({ frame }) => {
          framesReceived += 1;
          video.feed(elapsed(), meanLuma(frame.data, frame.width, frame.height));
        };
        sinks.push(sink);
      } else {
        const sink = new rtc.nonstandard.RTCAudioSink(track);
        sink.ondata = (data) => {
          audioChunksReceived += 1;
          // The chunk ends now: its first sample was played one chunk ago.
          audio.feed(elapsed() - (data.samples.length * 1000) / data.sampleRate, data.samples, data.sampleRate);
        };
        sinks.push(sink);
      }
    };
    const videoSource = new rtc.nonstandard.RTCVideoSource();
    const audioSource = new rtc.nonstandard.RTCAudioSource();
    sender.addTrack(videoSource.createTrack());
    sender.addTrack(audioSource.createTrack());
    await connect(sender, receiver);

    // Each marker on a frame boundary: a flash can only start with a frame, so a marker between two
    // frames would show its flash up to a frame late, an offset of the sender's own making.
    const framePeriod = 1000 / fps;
    const schedule = markerSchedule(markers, { intervalMs, leadInMs }).map((at) => Math.ceil((at + elapsed()) / framePeriod) * framePeriod);
    const audioSchedule = schedule.map((at, index) => at + (audioShiftFor?.(index) ?? audioShiftMs));
    const frame = new Uint8Array(width * height * 1.5);
    frame.fill(128, width * height);
    let framesSent = 0;
    let audioSentMs = 0;
    // One timer for both: each tick sends what is due, so a late tick catches up instead of drifting.
    timers.push(
      setInterval(() => {
        const now = elapsed();
        while (framesSent * (1000 / fps) <= now) {
          frame.fill(senderLuma(framesSent * (1000 / fps), schedule), 0, width * height);
          videoSource.onFrame({ width, height, data: frame });
          framesSent += 1;
        }
        while (audioSentMs <= now) {
          audioSource.onData({ samples: senderSamples(audioSentMs, (AUDIO_RATE * AUDIO_CHUNK_MS) / 1000, AUDIO_RATE, audioSchedule), sampleRate: AUDIO_RATE });
          audioSentMs += AUDIO_CHUNK_MS;
        }
      }, 5),
    );
    const endMs = (schedule.at(-1) ?? 0) + intervalMs;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, Math.max(0, endMs - elapsed()));
      timers.push(timer);
      signal?.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')), { once: true });
    });
    const pairs = pairMarkers(video.onsets, audio.onsets, intervalMs / 2);
    const markerOfPair = pairs.map((pair) => nearestIndex(schedule, pair.videoAtMs));
    return { summary: syncSummary(pairs), pairs, markerOfPair, framesReceived, audioChunksReceived };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const sink of sinks) sink.stop();
    sender.close();
    receiver.close();
  }
}

/** The marker whose flash was sent last before it was seen (flashes arrive after they are sent). */
function nearestIndex(schedule: readonly number[], atMs: number): number {
  let best = 0;
  for (let index = 0; index < schedule.length; index += 1) if ((schedule[index] ?? 0) <= atMs) best = index;
  return best;
}

/** Offer, answer and ICE between two peers of this process. */
async function connect(sender: PeerConnection, receiver: PeerConnection): Promise<void> {
  sender.onicecandidate = ({ candidate }) => {
    if (candidate) void receiver.addIceCandidate(candidate);
  };
  receiver.onicecandidate = ({ candidate }) => {
    if (candidate) void sender.addIceCandidate(candidate);
  };
  const offer = await sender.createOffer();
  await sender.setLocalDescription(offer);
  await receiver.setRemoteDescription(offer);
  const answer = await receiver.createAnswer();
  await receiver.setLocalDescription(answer);
  await sender.setRemoteDescription(answer);
}
