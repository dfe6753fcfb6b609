import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionHooks } from '../../test/helpers/action-hooks.js';
import { sessionActions, setConfigKey, type ActionHooks } from './session-actions.js';
import { traitsFor } from '../platform/platform-traits.js';

function hooks(overrides: Partial<ActionHooks> = {}): ActionHooks {
  return actionHooks({ recentLog: () => ['connected to mqtts://agent:avc_ms_TopSecretValue123@cloud.example:8883', 'probe cycle took 1.2 s'], ...overrides });
}

describe('session actions', () => {
  it('returns the recent log with secrets removed', async () => {
    const result = (await sessionActions(hooks())('fetch-logs', { lines: 50 }, new AbortController().signal)) as { lines: string[] };
    expect(result.lines).toHaveLength(2);
    expect(result.lines.join('\n')).not.toContain('TopSecretValue123');
  });

  it('says what this PC lacks, with a code, instead of pretending (no camera, no microphone here)', async () => {
    const empty = { sysRoot: '/nonexistent', devRoot: '/nonexistent', procRoot: '/nonexistent' };
    await expect(sessionActions(hooks({ captureSources: empty }))('camera-snapshot', {}, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: 'no camera: no video capture device (/dev/video*) on this PC' });
    await expect(sessionActions(hooks({ captureSources: empty }))('audio-clip', { seconds: 2 }, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: 'no microphone: no sound card that records on this PC' });
  });

  it('on Windows and macOS says the room\'s camera and microphone are captured on Linux only, before looking for them', async () => {
    for (const platform of ['win32', 'darwin'] as const) {
      const sources = { sysRoot: '/nonexistent', devRoot: '/nonexistent', procRoot: '/nonexistent', traits: traitsFor(platform) };
      await expect(sessionActions(hooks({ captureSources: sources }))('camera-snapshot', {}, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: expect.stringMatching(/captured on Linux only for now/) as unknown });
      await expect(sessionActions(hooks({ captureSources: sources }))('audio-clip', { seconds: 2 }, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE' });
    }
  });

  it('re-probes through the daemon and gives the devices found with each source\'s state', async () => {
    const device = { id: 'usb:046d:082d:1-1.4' } as never;
    const snapshot = { at: '2026-12-07T08:00:00.000Z', devices: [device], sources: [{ source: 'usb' as const, state: 'unavailable' as const, reason: 'no USB bus', durationMs: 1 }] };
    expect(await sessionActions(hooks({ reprobe: () => Promise.resolve(snapshot) }))('reprobe', {}, new AbortController().signal)).toEqual(snapshot);
    // Before the first cycle the inventory says why it has none, rather than an empty list.
    expect(await sessionActions(hooks())('inventory', {}, new AbortController().signal)).toMatchObject({ devices: null, reason: expect.stringContaining('first probe cycle') as unknown });
  });
});

describe('setConfigKey', () => {
  const file = (): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'avcare-config-')), 'agent.json');
    writeFileSync(path, JSON.stringify({ schoolId: 'sch-1', measure: { durationSeconds: 20 } }));
    return path;
  };

  it('sets a nested key, keeps the rest of the file, and says it applies at the next start', () => {
    const path = file();
    expect(setConfigKey(path, 'measure.room.camera', '/dev/video2')).toMatchObject({ appliesAt: 'next-start' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ schoolId: 'sch-1', measure: { durationSeconds: 20, room: { camera: '/dev/video2' } } });
  });

  it('refuses a value the agent\'s schema refuses, naming the field, and leaves the file as it was', () => {
    const path = file();
    const before = readFileSync(path, 'utf8');
    expect(() => setConfigKey(path, 'measure.durationSeconds', 9999)).toThrow(/measure\.durationSeconds/);
    expect(() => setConfigKey(path, 'measure.room.camera', '/etc/shadow')).toThrow(/measure\.room\.camera/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});
