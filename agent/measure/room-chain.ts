/**
 * A/V sync of the room itself: the markers flash on the classroom display and beep from its
 * speakers while the room's camera and microphone capture them, so what is measured is what a
 * remote class gets from this room (a camera 150 ms slower than its microphone shows as lips
 * behind the voice). The capture starts first and the markers play once it streams; flash and beep
 * are found in the capture and paired on the capture's one clock, so when the markers started
 * playing does not matter.
 */
import { spawn } from 'node:child_process';
import { AvcareError } from '../../protocol/errors.js';
import { MIN_MARKERS, pairMarkers, syncSummary, type MarkerPair, type SyncSummary } from './av-markers.js';
import { startCapture, type CaptureInput } from './room-capture.js';
import { flashOnsets, toneOnsets } from './room-detect.js';
import { markerGraph, markerGraphDurationMs } from './room-graph.js';
import type { RoomDevices } from './room-devices.js';

/** Plays a marker graph on the display and speakers; resolves when it has played. */
export type MarkerPresenter = (graph: string, durationMs: number, signal: AbortSignal) => Promise<void>;

export interface RoomChainOptions {
  /** The devices, or (tests, recordings) another capture input that already holds the markers. */
  capture: CaptureInput;
  markers?: number;
  /**
   * Plays the markers once the capture streams, and the capture is stopped after it. Without it
   * the capture input holds the markers itself (a recording, a generated room) and is read to its end.
   */
  present?: MarkerPresenter;
  ffmpeg?: string;
  /** How long the camera and microphone get to start streaming. */
  startTimeoutMs?: number;
  signal?: AbortSignal;
  onMarkersSeen?: (seen: number) => void;
}

export interface RoomChainResult {
  summary: SyncSummary;
  pairs: MarkerPair[];
  flashesSeen: number;
  beepsHeard: number;
  /** How much brighter the flash made the camera's picture (luma levels). */
  flashContrast: number;
  /** The beep's power over the room's noise at 1 kHz. */
  toneToNoise: number;
  /** Why fewer than enough markers were paired, in words for the teacher. */
  problems: string[];
}

export function deviceCapture(devices: RoomDevices): CaptureInput {
  return { kind: 'devices', camera: devices.camera, microphone: devices.microphone };
}

export async function measureRoomChain(options: RoomChainOptions): Promise<RoomChainResult> {
  const { capture: input, markers = 12, present, ffmpeg, startTimeoutMs = 8000 } = options;
  const signal = options.signal ?? new AbortController().signal;
  const durationMs = markerGraphDurationMs({ markers });
  const capture = startCapture({ input, ...(ffmpeg === undefined ? {} : { ffmpeg }), maxDurationMs: durationMs + startTimeoutMs + 5000 });
  try {
    let media;
    if (present !== undefined) {
      await within(capture.ready, startTimeoutMs, `the camera and microphone gave no picture and sound within ${startTimeoutMs / 1000} s`);
      await present(markerGraph({ markers }), durationMs, signal);
      // The last beep's echo and the capture's own buffers.
      await sleep(500);
      media = await capture.stop();
    } else {
      media = await capture.ended;
    }
    signal.throwIfAborted();
    const video = flashOnsets(media.frames);
    const audio = toneOnsets(media.audio, { sampleRate: media.sampleRate });
    const pairs = pairMarkers(video.onsets, audio.onsets, 400);
    options.onMarkersSeen?.(pairs.length);
    return {
      // Nothing of ours sits between the display and the camera: no baseline to take off.
      summary: syncSummary(pairs),
      pairs,
      flashesSeen: video.onsets.length,
      beepsHeard: audio.onsets.length,
      flashContrast: Math.round(video.contrast * 10) / 10,
      toneToNoise: audio.toneToNoise,
      problems: problemsOf({ pairs: pairs.length, flashes: video.onsets.length, beeps: audio.onsets.length, markers }),
    };
  } finally {
    await capture.stop().catch(() => undefined);
  }
}

function problemsOf(seen: { pairs: number; flashes: number; beeps: number; markers: number }): string[] {
  if (seen.pairs >= MIN_MARKERS) return [];
  const problems: string[] = [];
  if (seen.flashes < MIN_MARKERS) problems.push(`the camera saw ${seen.flashes} of ${seen.markers} flashes: it may not face the display, or the room is too bright`);
  if (seen.beeps < MIN_MARKERS) problems.push(`the microphone heard ${seen.beeps} of ${seen.markers} beeps: the speakers may be muted or too quiet`);
  if (problems.length === 0) problems.push(`only ${seen.pairs} flashes had a beep within 400 ms`);
  return problems;
}

/**
 * ffplay on the classroom display, full screen; it keeps picture and sound in step itself (video
 * follows the audio clock), as a conferencing client does.
 */
export function ffplayPresenter(display: string, ffplay = 'ffplay'): MarkerPresenter {
  return (graph, durationMs, signal) =>
    new Promise((resolve, reject) => {
      const child = spawn(ffplay, ['-hide_banner', '-loglevel', 'error', '-nostats', '-fs', '-autoexit', '-window_title', 'avcare A/V sync', '-f', 'lavfi', '-i', graph], {
        stdio: ['ignore', 'ignore', 'pipe'],
        // X11 unless told otherwise: left to choose, SDL falls back to a display-less driver and
        // "plays" the flashes where no camera can see them.
        env: { ...process.env, DISPLAY: display, SDL_VIDEODRIVER: process.env['SDL_VIDEODRIVER'] ?? 'x11' },
        signal,
      });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (text: string) => {
        stderr = (stderr + text).slice(-500);
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), durationMs + 10_000);
      child.once('error', (error) => {
        clearTimeout(killer);
        reject(new AvcareError('MEASURE_FAILED', `ffplay could not show the markers on display ${display}: ${error.message}`));
      });
      child.once('close', (code) => {
        clearTimeout(killer);
        if (code === 0) resolve();
        else reject(new AvcareError('MEASURE_FAILED', `ffplay could not show the markers on display ${display} (exit ${code}): ${stderr.trim() || 'no message'}`));
      });
    });
}

async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new AvcareError('MEASURE_TIMEOUT', message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
