/**
 * The flash-and-beep markers as an ffmpeg filter graph (lavfi): the room chain plays it on the
 * classroom display and speakers through ffplay, and tests feed the same graph, dressed as a room
 * would dress it, into the capture side. Markers start on frame boundaries (lead-in and interval
 * are whole frames at 30 fps), so no flash is shown a frame late by the source itself.
 */
import { MARKER } from './av-markers.js';

export interface MarkerGraphOptions {
  markers: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Before the first marker: the display wakes, the capture settles. */
  leadInMs?: number;
  intervalMs?: number;
  /** Picture between flashes and during them, 0-255 (full range). */
  darkLevel?: number;
  brightLevel?: number;
  /** Tone amplitude, 0-1 of full scale. */
  toneAmplitude?: number;
  /** Moves every beep later (positive) or earlier: an injected offset. */
  audioShiftMs?: number;
  /** Moves every flash later, in whole frames: a camera's latency, for simulated rooms. */
  videoDelayFrames?: number;
}

export const ROOM_AUDIO_RATE = 48_000;

/** How long the graph plays: the lead-in, the markers and one interval of tail. */
export function markerGraphDurationMs(options: Pick<MarkerGraphOptions, 'markers' | 'leadInMs' | 'intervalMs'>): number {
  const { markers, leadInMs = 1000, intervalMs = MARKER.intervalMs } = options;
  return leadInMs + (markers + 1) * intervalMs;
}

/** A lavfi graph with the picture on [out0] and the sound on [out1]. */
export function markerGraph(options: MarkerGraphOptions): string {
  const { video, audio } = markerSources(options);
  return `${video}[out0];${audio}[out1]`;
}

/** The picture's and the sound's filter chains, for graphs that add to them (a simulated room). */
export function markerSources(options: MarkerGraphOptions): { video: string; audio: string } {
  const { markers, width = 1280, height = 720, fps = 30, leadInMs = 1000, intervalMs = MARKER.intervalMs, darkLevel = 0, brightLevel = 255 } = options;
  const { toneAmplitude = 0.5, audioShiftMs = 0, videoDelayFrames = 0 } = options;
  const seconds = (ms: number): string => (ms / 1000).toFixed(6);
  const duration = seconds(markerGraphDurationMs(options));
  // Half a frame early: frames fall on the boundary itself, where rounding of t decides either way.
  const flashStart = leadInMs + ((videoDelayFrames - 0.5) * 1000) / fps;
  const toneStart = leadInMs + audioShiftMs;
  const during = (start: number, lengthMs: number): string =>
    `gte(t,${seconds(start)})*lt(t,${seconds(start + markers * intervalMs)})*lt(mod(t-${seconds(start)},${seconds(intervalMs)}),${seconds(lengthMs)})`;
  const video = `color=c=${grey(darkLevel)}:s=${width}x${height}:r=${fps}:d=${duration},drawbox=x=0:y=0:w=iw:h=ih:color=${grey(brightLevel)}:t=fill:enable='${during(flashStart, MARKER.flashMs)}'`;
  const audio = `aevalsrc=exprs='${toneAmplitude}*sin(2*PI*${MARKER.toneHz}*(t-${seconds(toneStart)}))*${during(toneStart, MARKER.toneMs)}':s=${ROOM_AUDIO_RATE}:d=${duration}`;
  return { video, audio };
}

function grey(level: number): string {
  const byte = Math.max(0, Math.min(255, Math.round(level))).toString(16).padStart(2, '0');
  return `0x${byte}${byte}${byte}`;
}
