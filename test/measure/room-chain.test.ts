/**
 * The room chain on generated capture streams (this machine has no camera, microphone or display):
 * ffmpeg renders the markers as a room's camera and microphone would capture them, with a known
 * offset, and the room chain's own reader and detector measure them through a real ffmpeg process.
 */
import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../../protocol/errors.js';
import { captureArguments, startCapture } from '../../agent/measure/room-capture.js';
import { ffplayPresenter, measureRoomChain } from '../../agent/measure/room-chain.js';
import { markerGraph } from '../../agent/measure/room-graph.js';
import { simulatedRoomGraph } from '../sim/simulated-room.js';

const FRAME_MS = 1000 / 30;

describe('room chain on generated capture streams', () => {
  it.each([-120, -40, 0, 40, 120])('measures a sound shifted by %i ms within 15 ms, through a camera two frames late', async (shiftMs) => {
    const result = await measureRoomChain({ capture: { kind: 'lavfi', graph: simulatedRoomGraph({ markers: 12, audioShiftMs: shiftMs, videoDelayFrames: 2 }) }, markers: 12 });
    // offset = picture arrival - sound arrival: two frames of camera latency, less the sound's shift.
    const expected = 2 * FRAME_MS - shiftMs;
    expect(result.summary.markers).toBe(12);
    expect(Math.abs(result.summary.offsetMs - expected)).toBeLessThanOrEqual(15);
    expect(result.problems).toEqual([]);
  });

  it('hears the beeps in a loud room and sees a dim flash through sensor noise', async () => {
    const graph = simulatedRoomGraph({ markers: 12, audioShiftMs: 60, roomNoise: 0.25, toneAmplitude: 0.05, darkLevel: 40, brightLevel: 55, videoNoise: 20 });
    const result = await measureRoomChain({ capture: { kind: 'lavfi', graph }, markers: 12 });
    expect(result.summary.markers).toBe(12);
    expect(Math.abs(result.summary.offsetMs - -60)).toBeLessThanOrEqual(15);
    expect(result.summary.verdict).toBe('imperceptible');
  });

  it('says the camera saw no flash when it does not face the display, instead of a number', async () => {
    const graph = simulatedRoomGraph({ markers: 12, darkLevel: 80, brightLevel: 80 });
    const result = await measureRoomChain({ capture: { kind: 'lavfi', graph }, markers: 12 });
    expect(result.summary.verdict).toBe('not-enough-markers');
    expect(result.flashesSeen).toBe(0);
    expect(result.beepsHeard).toBe(12);
    expect(result.problems).toEqual([expect.stringContaining('the camera saw 0 of 12 flashes')]);
  });

  it('says the speakers were not heard when the beep is missing', async () => {
    const graph = simulatedRoomGraph({ markers: 12, toneAmplitude: 0 });
    const result = await measureRoomChain({ capture: { kind: 'lavfi', graph }, markers: 12 });
    expect(result.beepsHeard).toBe(0);
    expect(result.problems).toEqual([expect.stringContaining('the microphone heard 0 of 12 beeps')]);
  });

  it('plays the markers once the capture streams, then stops the capture itself', async () => {
    // A live-paced capture that would run for a minute; the chain must stop it when the markers have played.
    const graph = simulatedRoomGraph({ markers: 50, audioShiftMs: -40 });
    const played: number[] = [];
    const startedAt = Date.now();
    const result = await measureRoomChain({
      capture: { kind: 'lavfi', graph, live: true },
      markers: 12,
      present: async (markers, durationMs) => {
        played.push(Date.now() - startedAt);
        expect(markers).toBe(markerGraph({ markers: 12 }));
        await new Promise((resolve) => setTimeout(resolve, durationMs));
      },
    });
    expect(played).toHaveLength(1);
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(result.summary.markers).toBeGreaterThanOrEqual(12);
    expect(Math.abs(result.summary.offsetMs - 40)).toBeLessThanOrEqual(15);
  }, 40_000);

  it('fails with the device and ffmpeg\'s own words when the camera cannot be opened', async () => {
    const error = await measureRoomChain({
      capture: { kind: 'devices', camera: '/dev/video-absent', microphone: 'plughw:CARD=absent' },
      present: () => Promise.reject(new Error('must not play without a capture')),
    }).catch((caught: unknown) => caught);
    expect(isAvcareError(error) && error.code).toBe('MEASURE_FAILED');
    expect((error as Error).message).toMatch(/camera \/dev\/video-absent and microphone plughw:CARD=absent/);
    expect((error as Error).message).toMatch(/No such file or directory|Cannot open|cannot open/i);
  });

  it('says ffmpeg is not installed when it is not', async () => {
    const capture = startCapture({ input: { kind: 'lavfi', graph: markerGraph({ markers: 10 }) }, ffmpeg: '/nonexistent/ffmpeg' });
    await expect(capture.ended).rejects.toThrow(/ffmpeg is not installed/);
  });

  it('captures v4l2 with wall-clock timestamps and ALSA on the same clock', () => {
    const args = captureArguments({ kind: 'devices', camera: '/dev/video0', microphone: 'plughw:CARD=C920' });
    expect(args.join(' ')).toContain('-f v4l2 -timestamps mono2abs -i /dev/video0 -f alsa -ac 1 -i plughw:CARD=C920 -copyts');
  });
});

describe('ffplay presenter', () => {
  it('plays the whole marker graph to its end without a window system (SDL dummy drivers)', async () => {
    const previous = { video: process.env['SDL_VIDEODRIVER'], audio: process.env['SDL_AUDIODRIVER'] };
    process.env['SDL_VIDEODRIVER'] = 'dummy';
    process.env['SDL_AUDIODRIVER'] = 'dummy';
    try {
      const startedAt = Date.now();
      await ffplayPresenter(':99')(markerGraph({ markers: 1, width: 320, height: 180 }), 3000, new AbortController().signal);
      // Played in real time: the graph lasts 3 s.
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2500);
    } finally {
      for (const [name, value] of [['SDL_VIDEODRIVER', previous.video], ['SDL_AUDIODRIVER', previous.audio]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }, 20_000);

  it('fails with ffplay\'s message when the display cannot be opened', async () => {
    const error = await ffplayPresenter(':97')(markerGraph({ markers: 1 }), 3000, new AbortController().signal).catch((caught: unknown) => caught);
    expect(isAvcareError(error) && error.code).toBe('MEASURE_FAILED');
    expect((error as Error).message).toContain('display :97');
  }, 20_000);
});
