/**
 * The room's camera and microphone, captured through ffmpeg (v4l2 and ALSA) in one process so
 * both streams carry timestamps on one clock: the camera's buffer times converted to wall-clock
 * (`-timestamps mono2abs`) and ALSA's, which are wall-clock already, kept as they are (`-copyts`;
 * without it ffmpeg would start each input at zero and lose how they line up). Raw pictures
 * (scaled to 160x90 grey: brightness is all the detector needs) come on stdout, raw 48 kHz mono
 * samples on fd 3, and each frame's timestamp on stderr from the showinfo filters.
 *
 * The same reader takes a generated graph or a recording instead of the devices, which is how the
 * room chain is tested on a machine without a camera.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { AvcareError } from '../../protocol/errors.js';
import { meanLuma } from './av-markers.js';
import { ROOM_AUDIO_RATE } from './room-graph.js';
import type { TimedLuma, TimedSamples } from './room-detect.js';

export type CaptureInput =
  /** A v4l2 node (/dev/video0) and an ALSA capture device (plughw:CARD=C920). */
  | { kind: 'devices'; camera: string; microphone: string }
  /** A generated lavfi graph with the picture on [out0] and the sound on [out1]; `live` paces it like a device. */
  | { kind: 'lavfi'; graph: string; live?: boolean }
  /** A recording of the room with a picture and a sound stream. */
  | { kind: 'file'; path: string };

export interface CaptureOptions {
  input: CaptureInput;
  ffmpeg?: string;
  /** For inputs that do not end by themselves: ffmpeg stops after this long. */
  maxDurationMs?: number;
}

export interface CapturedMedia {
  frames: TimedLuma[];
  audio: TimedSamples[];
  sampleRate: number;
}

export interface RunningCapture {
  /** Resolves when both a picture and a sound have arrived: the devices are open and streaming. */
  readonly ready: Promise<void>;
  /** Ends the capture (ffmpeg's own `q`) and gives what was captured. */
  stop(): Promise<CapturedMedia>;
  /** Resolves when ffmpeg ends by itself (a graph or a file ran out). */
  readonly ended: Promise<CapturedMedia>;
}

export const CAPTURE_WIDTH = 160;
export const CAPTURE_HEIGHT = 90;
const FRAME_BYTES = CAPTURE_WIDTH * CAPTURE_HEIGHT;
const STDERR_TAIL_LINES = 8;

export function captureArguments(input: CaptureInput, maxDurationMs?: number): string[] {
  // stdin stays open: `q` on it is how a device capture is stopped cleanly.
  const common = ['-hide_banner', '-nostats', '-loglevel', 'info'];
  let inputs: string[];
  let audioInput: string;
  switch (input.kind) {
    case 'devices':
      inputs = ['-f', 'v4l2', '-timestamps', 'mono2abs', '-i', input.camera, '-f', 'alsa', '-ac', '1', '-i', input.microphone, '-copyts'];
      audioInput = '1:a:0';
      break;
    case 'lavfi':
      inputs = [...(input.live === true ? ['-re'] : []), '-f', 'lavfi', '-i', input.graph];
      audioInput = '0:a:0';
      break;
    case 'file':
      inputs = ['-i', input.path];
      audioInput = '0:a:0';
      break;
  }
  const limit = maxDurationMs === undefined ? [] : ['-t', (maxDurationMs / 1000).toFixed(3)];
  return [
    ...common,
    ...inputs,
    ...limit,
    '-map', '0:v:0',
    // Timestamps in microseconds for the picture and in samples for the sound, whatever the source used.
    '-vf', `scale=${CAPTURE_WIDTH}:${CAPTURE_HEIGHT},format=gray,settb=1/1000000,showinfo`,
    // Every frame as it came: ffmpeg's default for raw output would repeat or drop frames to a
    // constant rate, and the pipe would no longer match the timestamps on stderr.
    '-vsync', 'passthrough',
    '-f', 'rawvideo', 'pipe:1',
    '-map', audioInput,
    '-af', `aresample=${ROOM_AUDIO_RATE},aformat=sample_fmts=s16:channel_layouts=mono,asettb=1/${ROOM_AUDIO_RATE},ashowinfo`,
    '-f', 's16le', 'pipe:3',
  ];
}

/** One showinfo line: frame number and timestamp. */
const VIDEO_LINE = /\[Parsed_showinfo_\d+ @ [^\]]+\] n:\s*(\d+) pts:\s*(-?\d+)\s/;
const AUDIO_LINE = /\[Parsed_ashowinfo_\d+ @ [^\]]+\] n:\s*(\d+) pts:\s*(-?\d+)\s.*nb_samples:(\d+)/;

/**
 * Starts ffmpeg. Devices get `q` on stdin to stop (ffmpeg then flushes what it holds); the other
 * inputs end by themselves.
 */
export function startCapture(options: CaptureOptions): RunningCapture {
  const { input, ffmpeg = 'ffmpeg', maxDurationMs } = options;
  const child = spawn(ffmpeg, captureArguments(input, maxDurationMs), { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
  const state = new CaptureState();
  const stderrTail: string[] = [];
  let stopping = false;

  let readyResolve!: () => void;
  let readyReject!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  // Awaited only by device captures; a generated graph's early end must not be an unhandled rejection.
  ready.catch(() => undefined);
  const checkReady = (): void => {
    if (state.videoTimes.length > 0 && state.audioTimes.length > 0) readyResolve();
  };

  onLines(child.stderr, (line) => {
    const video = VIDEO_LINE.exec(line);
    if (video !== null) {
      state.videoTimes.push(Number(video[2]) / 1000);
      checkReady();
      return;
    }
    const audio = AUDIO_LINE.exec(line);
    if (audio !== null) {
      state.audioTimes.push({ atMs: (Number(audio[2]) * 1000) / ROOM_AUDIO_RATE, samples: Number(audio[3]) });
      checkReady();
      return;
    }
    if (!line.includes('Parsed_')) {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    }
  });
  child.stdout?.on('data', (chunk: Buffer) => state.addVideoBytes(chunk));
  (child.stdio[3] as Readable | null)?.on('data', (chunk: Buffer) => state.addAudioBytes(chunk));

  const ended = new Promise<CapturedMedia>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const failure =
        error.code === 'ENOENT'
          ? new AvcareError('MEASURE_FAILED', `ffmpeg is not installed (looked for "${ffmpeg}"): the room chain captures the camera and microphone through it`)
          : new AvcareError('MEASURE_FAILED', `ffmpeg could not start: ${error.message}`);
      readyReject(failure);
      reject(failure);
    });
    child.once('close', (code, signal) => {
      if (code === 0 || (signal !== null && stopping)) {
        readyReject(new AvcareError('MEASURE_FAILED', `the capture ended before a picture and a sound arrived from ${describe(input)}`));
        resolve(state.media());
        return;
      }
      const failure = new AvcareError('MEASURE_FAILED', `ffmpeg could not capture from ${describe(input)} (exit ${code ?? signal}): ${stderrTail.join(' | ') || 'no message'}`);
      readyReject(failure);
      reject(failure);
    });
  });
  ended.catch(() => undefined);

  const stop = async (): Promise<CapturedMedia> => {
    if (child.exitCode === null && child.signalCode === null && !stopping) {
      stopping = true;
      child.stdin?.end('q');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      try {
        return await ended;
      } finally {
        clearTimeout(killer);
      }
    }
    return ended;
  };
  return { ready, stop, ended };
}

/** Bytes from ffmpeg turned into timed luma and timed samples, matched with the timestamps from stderr. */
class CaptureState {
  readonly videoTimes: number[] = [];
  readonly audioTimes: { atMs: number; samples: number }[] = [];
  private readonly lumas: number[] = [];
  private pendingVideo = Buffer.alloc(0);
  private readonly audioParts: Buffer[] = [];

  addVideoBytes(chunk: Buffer): void {
    let buffer = this.pendingVideo.length === 0 ? chunk : Buffer.concat([this.pendingVideo, chunk]);
    while (buffer.length >= FRAME_BYTES) {
      this.lumas.push(meanLuma(buffer.subarray(0, FRAME_BYTES), CAPTURE_WIDTH, CAPTURE_HEIGHT, 3));
      buffer = buffer.subarray(FRAME_BYTES);
    }
    this.pendingVideo = Buffer.from(buffer);
  }

  addAudioBytes(chunk: Buffer): void {
    this.audioParts.push(chunk);
  }

  /** Frames and chunks paired with their timestamps, on a clock that starts at the first picture. */
  media(): CapturedMedia {
    const origin = this.videoTimes[0] ?? this.audioTimes[0]?.atMs ?? 0;
    const count = Math.min(this.lumas.length, this.videoTimes.length);
    const frames: TimedLuma[] = [];
    for (let index = 0; index < count; index += 1) frames.push({ atMs: (this.videoTimes[index] ?? 0) - origin, luma: this.lumas[index] ?? 0 });

    const bytes = Buffer.concat(this.audioParts);
    // Copied into a buffer of its own: an Int16Array needs an even byte offset, a pooled Buffer may not have one.
    const aligned = new Uint8Array(bytes.length - (bytes.length % 2));
    aligned.set(bytes.subarray(0, aligned.length));
    const samples = new Int16Array(aligned.buffer);
    const audio: TimedSamples[] = [];
    let offset = 0;
    for (const chunk of this.audioTimes) {
      if (offset + chunk.samples > samples.length) break;
      audio.push({ startMs: chunk.atMs - origin, samples: samples.subarray(offset, offset + chunk.samples) });
      offset += chunk.samples;
    }
    return { frames, audio, sampleRate: ROOM_AUDIO_RATE };
  }
}

function onLines(stream: Readable | null, handle: (line: string) => void): void {
  if (stream === null) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) handle(line.trimEnd());
  });
}

function describe(input: CaptureInput): string {
  if (input.kind === 'devices') return `camera ${input.camera} and microphone ${input.microphone}`;
  return input.kind === 'file' ? `recording ${input.path}` : 'a generated graph';
}
