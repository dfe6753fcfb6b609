/**
 * Media that costs what a classroom camera and microphone cost: a picture that keeps changing (a
 * still or scrolled image compresses to almost nothing, and the test would measure a trickle), and
 * continuous sound. Frames are I420: the Y plane, then U and V at a quarter size each.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import type { AudioSource, VideoSource } from '../../protocol/webrtc.js';

export interface SyntheticMediaOptions {
  width: number;
  height: number;
  fps: number;
}

const AUDIO_RATE = 48_000;
const AUDIO_CHUNK_MS = 10;
/** The textured scene pans this many pixels a frame, like a camera following a teacher. */
const PAN_PX = 3;

/**
 * Frames are drawn once, before the test, and looped: filling a 720p frame takes the event loop a
 * few milliseconds, and every millisecond it is busy delays the audio chunks due then, which the
 * reflector would measure as jitter the network does not have.
 */
const LOOP_FRAMES = 30;

export class SyntheticMedia {
  private readonly frames: Uint8Array[] = [];
  private readonly scene: Uint8Array;
  private readonly sceneWidth: number;
  private readonly lumaBytes: number;
  private framesSent = 0;
  private audioSentMs = 0;
  private phase = 0;

  constructor(
    private readonly video: VideoSource,
    private readonly audio: AudioSource,
    private readonly options: SyntheticMediaOptions,
  ) {
    const { width, height } = options;
    this.lumaBytes = width * height;
    // A scene twice as wide as the picture: smooth shapes with fine detail, which VP8 codes at
    // classroom bitrates the way it codes a real room (mostly motion, some texture).
    this.sceneWidth = width * 2;
    this.scene = new Uint8Array(this.sceneWidth * height);
    const grain = randomBytes(this.scene.length);
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < this.sceneWidth; x += 1) {
        const shape = 96 + 60 * Math.sin(x / 37) * Math.cos(y / 23) + 40 * Math.sin((x + 2 * y) / 91);
        this.scene[y * this.sceneWidth + x] = Math.max(0, Math.min(255, Math.round(shape + ((grain[y * this.sceneWidth + x] ?? 0) % 24) - 12)));
      }
    }
    for (let index = 0; index < LOOP_FRAMES; index += 1) this.frames.push(this.draw(index));
  }

  /** The scene panned `index` steps, with a small patch of fresh detail (a face, a hand): never fully predictable. */
  private draw(index: number): Uint8Array {
    const { width, height } = this.options;
    const frame = new Uint8Array(this.lumaBytes * 1.5);
    frame.fill(128, this.lumaBytes);
    const offset = (index * PAN_PX) % width;
    for (let y = 0; y < height; y += 1) {
      const from = y * this.sceneWidth + offset;
      frame.set(this.scene.subarray(from, from + width), y * width);
    }
    const patch = Math.floor(height / 8);
    for (let y = 0; y < patch; y += 1) randomFillSync(frame, (y + patch) * width + patch, patch);
    return frame;
  }

  get sentFrames(): number {
    return this.framesSent;
  }

  /** Sends what is due at `elapsedMs` since the start: late calls catch up instead of drifting. */
  pump(elapsedMs: number): void {
    const { width, height, fps } = this.options;
    while (this.framesSent * (1000 / fps) <= elapsedMs) {
      this.video.onFrame({ width, height, data: this.frames[this.framesSent % LOOP_FRAMES] ?? new Uint8Array(this.lumaBytes * 1.5) });
      this.framesSent += 1;
    }
    while (this.audioSentMs <= elapsedMs) {
      this.audio.onData({ samples: this.tone((AUDIO_RATE * AUDIO_CHUNK_MS) / 1000), sampleRate: AUDIO_RATE });
      this.audioSentMs += AUDIO_CHUNK_MS;
    }
  }

  /** A warbling tone: never silence, so Opus sends full packets all the time. */
  private tone(count: number): Int16Array {
    const samples = new Int16Array(count);
    for (let i = 0; i < count; i += 1) {
      this.phase += (2 * Math.PI * (440 + 200 * Math.sin(this.audioSentMs / 300))) / AUDIO_RATE;
      samples[i] = Math.round(6000 * Math.sin(this.phase));
    }
    return samples;
  }
}
