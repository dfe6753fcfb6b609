/**
 * The part of @roamhq/wrtc (node-webrtc) that the agent's measurements and the cloud's reflector
 * use, typed here because the package's own types lean on the browser's DOM. Loaded on first use:
 * the native library is 26 MB and only a running test needs it, never the resident agent.
 */
import { createRequire } from 'node:module';

export interface SessionDescription {
  type: 'offer' | 'answer';
  sdp: string;
}

export interface IceCandidate {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export interface MediaTrack {
  readonly kind: 'audio' | 'video';
  stop(): void;
}

/** One entry of getStats(): fields differ per `type` (inbound-rtp, candidate-pair, ...). */
export type StatsEntry = { type: string; id: string } & Record<string, unknown>;

export interface RtpSender {
  replaceTrack(track: MediaTrack | null): Promise<void>;
  getParameters(): { encodings: { maxBitrate?: number; active?: boolean }[] } & Record<string, unknown>;
  setParameters(parameters: Record<string, unknown>): Promise<void>;
}

export interface Transceiver {
  readonly mid: string | null;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  readonly sender: RtpSender;
  readonly receiver: { readonly track: MediaTrack };
}

export interface DataChannel {
  readonly label: string;
  readonly readyState: 'connecting' | 'open' | 'closing' | 'closed';
  send(data: string): void;
  close(): void;
  onopen: (() => void) | null;
  onclose: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}

export interface PeerConnectionConfig {
  iceServers?: { urls: string | string[] }[];
  /** node-webrtc's own: the UDP ports ICE may bind, for a reflector behind a firewall. */
  portRange?: { min: number; max: number };
}

export interface PeerConnection {
  addTrack(track: MediaTrack): unknown;
  addTransceiver(trackOrKind: MediaTrack | 'audio' | 'video', init?: { direction?: Transceiver['direction'] }): Transceiver;
  getTransceivers(): Transceiver[];
  createDataChannel(label: string, init?: { ordered?: boolean; maxRetransmits?: number }): DataChannel;
  createOffer(): Promise<SessionDescription>;
  createAnswer(): Promise<SessionDescription>;
  setLocalDescription(description: SessionDescription): Promise<void>;
  setRemoteDescription(description: SessionDescription): Promise<void>;
  addIceCandidate(candidate: IceCandidate): Promise<void>;
  getStats(): Promise<{ forEach(visit: (entry: StatsEntry) => void): void }>;
  close(): void;
  readonly connectionState: string;
  readonly iceConnectionState: string;
  onicecandidate: ((event: { candidate: (IceCandidate & { toJSON?(): IceCandidate }) | null }) => void) | null;
  ontrack: ((event: { track: MediaTrack }) => void) | null;
  ondatachannel: ((event: { channel: DataChannel }) => void) | null;
  onconnectionstatechange: (() => void) | null;
}

export interface VideoFrame {
  width: number;
  height: number;
  /** I420: the Y plane, then U and V at a quarter size each. */
  data: Uint8Array;
}

export interface AudioData {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}

export interface VideoSource {
  createTrack(): MediaTrack;
  onFrame(frame: VideoFrame): void;
}

export interface AudioSource {
  createTrack(): MediaTrack;
  onData(data: AudioData): void;
}

export interface Sink {
  stop(): void;
}

export interface VideoSink extends Sink {
  onframe: ((event: { frame: VideoFrame }) => void) | null;
}

export interface AudioSink extends Sink {
  ondata: ((data: AudioData) => void) | null;
}

export interface WebRtc {
  RTCPeerConnection: new (configuration?: PeerConnectionConfig) => PeerConnection;
  nonstandard: {
    RTCVideoSource: new () => VideoSource;
    RTCAudioSource: new () => AudioSource;
    RTCVideoSink: new (track: MediaTrack) => VideoSink;
    RTCAudioSink: new (track: MediaTrack) => AudioSink;
  };
}

let loaded: WebRtc | undefined;

/** The native binding; throws with the reason when it cannot load (an unsupported platform). */
export function loadWebRtc(): WebRtc {
  loaded ??= createRequire(import.meta.url)('@roamhq/wrtc') as WebRtc;
  return loaded;
}
