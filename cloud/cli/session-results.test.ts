import { describe, expect, it } from 'vitest';
import type { RemoteCommand } from '../sessions/session-store.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeGrant, renderCommand, saveCapture } from './remote-session-command.js';
import { renderResult } from './session-results.js';

const command = (overrides: Partial<RemoteCommand>): RemoteCommand => ({
  id: '0b6f2c7e-4d5a-4c1b-8e1f-6a2d3c4b5a69',
  sessionId: '6f0c8a52-7d1e-4a8e-9b51-3f0a4f1d2c11',
  action: 'reprobe',
  args: {},
  issuedBy: 'user:engineer-wang',
  issuedAt: '2026-12-07T08:00:00.000Z',
  expiresAt: '2026-12-07T08:02:00.000Z',
  status: 'ok',
  result: null,
  error: null,
  finishedAt: '2026-12-07T08:00:02.500Z',
  ...overrides,
});

describe('a remote command\'s result for people', () => {
  it('shows devices as a table and each source\'s state: an unavailable USB bus is not "nothing plugged in"', () => {
    const lines = renderResult('reprobe', {
      at: '2026-12-07T08:00:02.000Z',
      devices: [{ id: 'pjlink:192.0.2.50:4352', kind: 'projector', name: 'Room 101\u202e\u001b[2J', status: 'unreachable', connection: { type: 'network', host: '192.0.2.50', port: 4352, protocol: 'pjlink' }, error: { code: 'PJLINK_TIMEOUT', message: 'no answer' } }],
      sources: [
        { source: 'usb', state: 'unavailable', reason: 'no USB bus: /sys/bus/usb is absent', durationMs: 1 },
        { source: 'pjlink', state: 'ok', durationMs: 3000 },
      ],
    });
    const text = lines.join('\n');
    expect(text).toMatch(/^KIND\s+NAME\s+STATUS\s+CONNECTION\s+ERROR$/m);
    expect(text).toMatch(/^projector\s+Room 101 \[2J\s+unreachable\s+pjlink 192\.0\.2\.50:4352\s+PJLINK_TIMEOUT: no answer$/m);
    expect(text).toContain('usb      unavailable: no USB bus: /sys/bus/usb is absent');
    // eslint-disable-next-line no-control-regex -- asserting that no control character survived
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    expect(renderResult('inventory', { devices: null, sources: null, reason: 'the agent has not finished its first probe cycle yet; try reprobe' })).toEqual([
      'no inventory yet: the agent has not finished its first probe cycle yet; try reprobe',
    ]);
  });

  it('gives a PC\'s state and a network test in figures with units', () => {
    expect(renderResult('health-snapshot', { system: { os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', arch: 'x64', hostname: 'r101-pc' }, cpu: { cores: 4, loadPercent: 12.4 }, memory: { totalBytes: 8 * 1024 ** 3, availableBytes: 2 * 1024 ** 3 }, disks: [{ mount: '/', fsType: 'ext4', sizeBytes: 100 * 1024 ** 3, usedBytes: 91 * 1024 ** 3, usePercent: 91 }], cpuTemperatureC: null, network: [], uptimeSeconds: 3600, agentVersion: '0.1.0' } })).toEqual([
      'PC r101-pc: Ubuntu 22.04 x64',
      'CPU 4 cores at 12% load',
      'memory 2.0 GiB free of 8.0 GiB',
      'disk / 91% used of 100.0 GiB',
    ]);
    const direction = { lossPercent: 1.5, packetsExpected: 1000, jitterMs: 12, bitrateKbps: 1800, framesPerSecond: 29.7, freezes: 0, freezeMs: 0, resolution: '1280x720' };
    const result = {
      test: 'network', reflectorId: 'local', sessionId: '6f0c8a52-7d1e-4a8e-9b51-3f0a4f1d2c11', durationMs: 20000, rttMs: 48, rttSamples: 900, rttRtcpMs: 50,
      up: direction, down: direction, availableOutgoingKbps: null, quality: { oneWayLatencyMs: 24, effectiveLatencyMs: 60, r: 85, mos: 4.1, band: 'good' }, verdict: 'meets-targets', missed: [], throttle: null,
    };
    const lines = renderResult('network-test', { status: 'done', result, usage: { cpuMs: 1, cpuPercent: 1, maxRssBytes: 1 }, wallMs: 21_300 });
    expect(lines[0]).toBe('verdict meets-targets: call quality MOS 4.10 (good), round trip 48 ms');
    expect(lines[1]).toBe('down  loss 1.5%, jitter 12 ms, 1800 kbit/s, 30 frames/s');
    expect(lines.at(-1)).toBe('done (took 21.3 s)');
    expect(renderResult('network-test', { status: 'failed', code: 'MEASURE_NO_PATH', message: 'UDP to the reflector is blocked', wallMs: 5000 })).toEqual(['the test failed: MEASURE_NO_PATH UDP to the reflector is blocked']);
  });

  it('keeps log lines as lines and anything else as indented JSON, cleaned', () => {
    expect(renderResult('fetch-logs', { lines: ['one', 'two\u001b[31m'] })).toEqual(['one', 'two [31m']);
    expect(renderResult('set-config', { key: 'probeIntervalSeconds', value: 30, appliesAt: 'next-start' })).toEqual(['{', '  "key": "probeIntervalSeconds",', '  "value": 30,', '  "appliesAt": "next-start"', '}']);
  });

  it('says when a command was sent and when it finished, or that the PC has not answered yet', () => {
    expect(renderCommand(command({ result: { lines: [] }, action: 'fetch-logs' })).split('\n')[0]).toBe('  fetch-logs  OK  sent 2026-12-07T08:00:00.000Z  finished 2026-12-07T08:00:02.500Z (after 2.5 s)');
    expect(renderCommand(command({ status: 'sent', finishedAt: null }))).toBe('  reprobe  SENT  sent 2026-12-07T08:00:00.000Z  (waiting for the PC)');
  });

  it('says what an approval granted and which privacy actions it left out', () => {
    expect(describeGrant(['reprobe', 'camera-snapshot', 'audio-clip'], ['reprobe'])).toBe(
      'granted: reprobe\nnot granted (privacy: they see or hear the classroom): camera-snapshot, audio-clip; name them with --grant to allow them',
    );
    expect(describeGrant(['reprobe', 'usb-reset'], ['reprobe'])).toBe('granted: reprobe\nnot granted: usb-reset');
  });

  it('saves a snapshot to the file asked for, and says so when the command gave none', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'avcare-save-')), 'snapshot.jpg');
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
    expect(saveCapture(command({ action: 'camera-snapshot', result: { format: 'jpeg', bytes: jpeg.length, base64: jpeg.toString('base64') } }), file)).toBe(`saved 7 bytes (jpeg) to ${file}`);
    expect(readFileSync(file)).toEqual(jpeg);
    expect(saveCapture(command({ action: 'camera-snapshot', status: 'failed', result: null, error: { code: 'ACTION_UNAVAILABLE', message: 'no camera' } }), file)).toBe(`nothing saved to ${file}: the command gave no capture`);
  });
});
