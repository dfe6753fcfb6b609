import { describe, expect, it } from 'vitest';
import type { AvsyncResult } from '../../protocol/measure-result.js';
import { english, translator } from '../i18n/i18n.js';
import { renderOutcome } from './render-test.js';

const usage = { cpuMs: 2100, cpuPercent: 12, maxRssBytes: 110 * 1_048_576 };
const summary = (offsetMs: number, markers = 12) => ({ markers, offsetMs, rawOffsetMs: offsetMs, baselineMs: 0, spreadMs: 4, minMs: offsetMs - 5, maxMs: offsetMs + 5, verdict: markers < 10 ? ('not-enough-markers' as const) : ('unacceptable' as const) });

function roomResult(overrides: Partial<AvsyncResult> = {}): AvsyncResult {
  return {
    test: 'avsync',
    mode: 'room',
    summary: summary(-210),
    markersSent: 12,
    roomUnavailable: [],
    pipeline: { ...summary(-24), verdict: 'imperceptible' },
    room: { camera: '/dev/video0', microphone: 'plughw:CARD=C920', display: ':0', flashesSeen: 12, beepsHeard: 12, flashContrast: 31, toneToNoise: 900 },
    ...overrides,
  };
}

describe('renderOutcome for the room chain', () => {
  it('names the devices measured, what they caught and the pipeline beside the room', () => {
    const text = renderOutcome({ status: 'done', result: roomResult(), usage, wallMs: 30_000 }, 'avsync', 'here', english);
    expect(text).toContain('A/V sync test (room mode): 12 of 12 markers paired');
    expect(text).toContain('Offset          -210 ms');
    expect(text).toContain('Room chain      camera /dev/video0, microphone plughw:CARD=C920, display :0: 12 flashes seen, 12 beeps heard');
    expect(text).toContain('Pipeline        -24 ms');
    expect(text).toContain('out of tolerance');
  });

  it('says why a room run found too few markers, in Chinese for a Chinese PC', () => {
    const result = roomResult({ summary: summary(0, 0), roomUnavailable: ['the camera saw 0 of 12 flashes: it may not face the display, or the room is too bright'] });
    const text = renderOutcome({ status: 'done', result, usage, wallMs: 30_000 }, 'avsync', 'here', translator('zh-CN'));
    expect(text).toContain('看到 12 次闪光');
    expect(text).toContain('the camera saw 0 of 12 flashes');
  });

  it('prints a device name with control characters escaped, not raw', () => {
    const result = roomResult({ room: { camera: '/dev/video0', microphone: 'plughw:CARD=\u001b[31mEVIL', display: ':0', flashesSeen: 12, beepsHeard: 12, flashContrast: 30, toneToNoise: 900 } });
    const text = renderOutcome({ status: 'done', result, usage, wallMs: 30_000 }, 'avsync', 'here', english);
    expect(text).not.toContain('\u001b');
  });
});
