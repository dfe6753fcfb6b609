/**
 * The VR session actions against a simulated headset's adbd answering from the recorded Quest 3:
 * read one headset whole, restart one of the room's configured apps (and only those), read its
 * last crash records bounded, and refuse clearly what cannot be done (a headset that has not
 * allowed this PC, one that is not there), each result as the engineer's terminal shows it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionActions, type ActionHooks } from '../../agent/session/session-actions.js';
import { parseAgentConfig } from '../../agent/config.js';
import { renderResult } from '../../cloud/cli/session-results.js';
import { silentLogger } from '../../protocol/log.js';
import { actionHooks } from '../helpers/action-hooks.js';
import { QUEST3_CAPTURE, recordedHeadset, SimulatedHeadset, type SimulatedHeadsetOptions } from '../helpers/adb-headset-simulator.js';

const APP = 'com.school.chemlab';
const signal = (): AbortSignal => new AbortController().signal;
const running: SimulatedHeadset[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sim) => sim.stop()));
});

async function headsetHooks(options: Partial<SimulatedHeadsetOptions> = {}): Promise<{ sim: SimulatedHeadset; hooks: ActionHooks }> {
  const sim = new SimulatedHeadset({ answer: recordedHeadset(QUEST3_CAPTURE, '2026-12-07 08:30:00'), onNewKey: 'allow', ...options });
  running.push(sim);
  const port = await sim.start();
  const config = parseAgentConfig({ vrHeadsets: [{ host: '127.0.0.1', port, name: 'cart A #3' }], vr: { apps: [APP], usb: false, authorizeWaitSeconds: 1 } });
  return { sim, hooks: actionHooks({ headsets: { config, stateDir: mkdtempSync(join(tmpdir(), 'avcare-vr-')), lookOnUsb: false, log: silentLogger, startWaitMs: 2000 } }) };
}

describe('VR session actions on a simulated headset', () => {
  it('vr-status reads one headset whole, found by its configured name or its serial, and the terminal shows it in words', async () => {
    const { hooks } = await headsetHooks();
    const byName = (await sessionActions(hooks)('vr-status', { headset: 'cart A #3' }, signal())) as { device: { id: string; vr: { battery: { level: number } } } };
    expect(byName.device.id).toBe('adb:2G0YC5ZF8B0K4S');
    expect(byName.device.vr.battery.level).toBe(22);
    const bySerial = (await sessionActions(hooks)('vr-status', { headset: '2G0YC5ZF8B0K4S' }, signal())) as { device: { id: string } };
    expect(bySerial.device.id).toBe('adb:2G0YC5ZF8B0K4S');
    const shown = renderResult('vr-status', byName).join('\n');
    expect(shown).toContain('battery 22% discharging');
    expect(shown).toContain('left controller (RUBY): not connected');
    expect(shown).toMatch(/com\.school\.chemlab: 1\.4\.2, not running, 1 recent crash/);
  });

  it('vr-app-restart stops and starts a configured app and sees it run; an app the room does not name is refused', async () => {
    let started = false;
    const recorded = recordedHeadset(QUEST3_CAPTURE, '2026-12-07 08:30:00');
    const { sim, hooks } = await headsetHooks({
      answer: (command) => {
        if (command.startsWith('monkey')) {
          started = true;
          return 'Events injected: 1\n## Network stats: elapsed time=12ms\n';
        }
        if (command.startsWith('am force-stop')) return '';
        if (command === `pidof ${APP}`) return started ? '4242\n' : '';
        return recorded(command);
      },
    });
    const result = await sessionActions(hooks)('vr-app-restart', { headset: 'cart A #3', app: APP }, signal());
    expect(result).toEqual({ headset: 'cart A #3', app: APP, wasRunning: false, running: true, launch: 'Events injected: 1' });
    expect(sim.commands.filter((command) => !command.startsWith('pidof'))).toEqual([`am force-stop ${APP}`, `monkey -p ${APP} -c android.intent.category.LAUNCHER 1`]);
    expect(renderResult('vr-app-restart', result)).toEqual([`${APP} on cart A #3: stopped and started; it runs now`]);
    await expect(sessionActions(hooks)('vr-app-restart', { headset: 'cart A #3', app: 'com.android.settings' }, signal())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/com\.android\.settings is not one of this room's VR apps \(com\.school\.chemlab\)/) as unknown });
  });

  it('vr-crash-log gives the newest records of the app only, each bounded, out of a flood of them', async () => {
    const recorded = recordedHeadset(QUEST3_CAPTURE, '2026-12-07 08:30:00');
    const other = `2026-12-07 07:59:00 data_app_crash (text, 10 bytes)\nProcess: com.other.game\njava.lang.Error: not ours\n`;
    const ours = (minute: number): string => `2026-12-07 08:${String(minute).padStart(2, '0')}:00 data_app_crash (text, 10 bytes)\nProcess: ${APP}\njava.lang.IllegalStateException: crash ${minute}\n${'\tat com.unity3d.player.UnityPlayer.frame(Native Method)\n'.repeat(500)}`;
    const flood = Array.from({ length: 40 }, (_, minute) => ours(minute)).join('') + other;
    const { hooks } = await headsetHooks({ answer: (command) => (command.includes('data_app_crash') ? flood : command.includes('data_app_anr') ? 'Drop box contents: 0 entries\n' : recorded(command)) });
    const result = (await sessionActions(hooks)('vr-crash-log', { headset: 'cart A #3', app: APP, entries: 3 }, signal())) as { records: { at: string; kind: string; text: string }[] };
    expect(result.records.map((record) => record.at)).toEqual(['2026-12-07 08:37:00', '2026-12-07 08:38:00', '2026-12-07 08:39:00']);
    expect(result.records.every((record) => record.text.split('\n').length <= 40 && record.text.length <= 4000)).toBe(true);
    expect(result.records[2]?.text).toContain('java.lang.IllegalStateException: crash 39');
    expect(renderResult('vr-crash-log', result)[0]).toBe('2026-12-07 08:37:00 crash');
  });

  it('a headset that has not allowed this PC, or one that is not there, is refused saying so', async () => {
    const { hooks } = await headsetHooks({ onNewKey: 'ask' });
    await expect(sessionActions(hooks)('vr-status', { headset: 'cart A #3' }, signal())).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: expect.stringMatching(/has not allowed this PC to use ADB/) as unknown });
    await expect(sessionActions(hooks)('vr-status', { headset: 'cart Z #9' }, signal())).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/no headset cart Z #9 on this PC \(headsets: cart A #3\)/) as unknown });
    await expect(sessionActions(actionHooks({}))('vr-status', { headset: 'cart A #3' }, signal())).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE' });
  });
});
