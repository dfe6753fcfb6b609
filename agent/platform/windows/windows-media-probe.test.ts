import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../protocol/log.js';
import { parseAgentConfig } from '../../config.js';
import { runProbeCycle } from '../../cycle.js';
import { FaultMonitor } from '../../fault-monitor.js';
import type { CommandOutput, RunCommand } from '../../probes/run-command.js';
import { createWindowsMediaProbe, MEDIA_COMMAND, MEDIA_SCRIPT } from './windows-media-probe.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/windows');
const TEACHER = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const CONSENT = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\CapabilityAccessManager\\ConsentStore';

/** A Windows PC as its tools answer: PowerShell from the recorded Get-PnpDevice JSON, reg.exe from the registry below. */
const MICROPHONE_ENDPOINT = '{0.0.1.00000000}.{8C2E5F14-3B6A-4F0E-9D2C-71A0B3E4C5D6}';

/** What the media script prints: the recorded PnP devices and the default recording device per role ("id|mute|level"). */
function mediaAnswer(capture: unknown[] = [`${MICROPHONE_ENDPOINT}|0|0.75`, `${MICROPHONE_ENDPOINT}|0|0.75`]): CommandOutput {
  const pnp = JSON.parse(readFileSync(join(FIXTURES, 'get-pnpdevice-room203.json'), 'utf8')) as unknown[];
  return { status: 'ok', stdout: JSON.stringify({ pnp, capture }) };
}

function windowsPc(overrides: { powershell?: CommandOutput } = {}): { run: RunCommand; calls: string[][] } {
  const calls: string[][] = [];
  const registry: Record<string, string> = {
    HKU: `\r\nHKEY_USERS\\.DEFAULT\r\nHKEY_USERS\\S-1-5-19\r\nHKEY_USERS\\${TEACHER}\r\nHKEY_USERS\\${TEACHER}_Classes\r\n`,
    [`HKLM\\${CONSENT}\\webcam`]: `\r\nHKEY_LOCAL_MACHINE\\${CONSENT}\\webcam\r\n    Value    REG_SZ    Allow\r\n`,
    [`HKU\\${TEACHER}\\${CONSENT}\\webcam`]: `\r\nHKEY_USERS\\${TEACHER}\\${CONSENT}\\webcam\r\n    Value    REG_SZ    Allow\r\n\r\nHKEY_USERS\\${TEACHER}\\${CONSENT}\\webcam\\NonPackaged\r\n    Value    REG_SZ    Deny\r\n`,
  };
  const run: RunCommand = (file, args) => {
    calls.push([file, ...args]);
    if (file === 'powershell.exe') return Promise.resolve(overrides.powershell ?? mediaAnswer());
    const answer = registry[args[1] ?? ''];
    // reg.exe exits 1 for a key that is not there.
    return Promise.resolve(answer === undefined ? { status: 'failed', reason: 'ERROR: The system was unable to find the specified registry key or value.' } : { status: 'ok', stdout: answer });
  };
  return { run, calls };
}

const config = parseAgentConfig({});

describe('the media source on Windows', () => {
  it("lists the AV devices through PowerShell and reads the signed-in teacher's privacy switches under HKEY_USERS; the faults follow", async () => {
    const pc = windowsPc();
    const cycle = await runProbeCycle([createWindowsMediaProbe({ runCommand: pc.run })], { config, log: silentLogger });
    expect(cycle.sources).toMatchObject([{ source: 'media', state: 'ok' }]);
    expect(cycle.devices.map((device) => [device.kind, device.name, device.pnp?.problemCode])).toEqual([
      ['camera', 'HD Pro Webcam C920', 22],
      ['microphone', '麦克风 (Realtek(R) Audio)', 0],
      ['speakerphone', 'Jabra SPEAK 510 USB', 43],
    ]);
    expect(cycle.privacy?.camera).toEqual({ policy: null, device: 'allow', apps: 'allow', desktopApps: 'deny' });
    const faults = new FaultMonitor(config, null).detect(cycle).map((fault) => fault.code);
    expect(faults).toEqual(['WINDOWS_DEVICE_DISABLED', 'WINDOWS_DEVICE_NOT_STARTED', 'CAMERA_BLOCKED_BY_PRIVACY']);
    // The service's own account and the system's are not people: only the teacher's hive is read.
    expect(pc.calls.filter(([file]) => file === 'reg.exe').map((call) => call[2])).toEqual(['HKU', `HKLM\\${CONSENT}\\webcam`, `HKLM\\${CONSENT}\\microphone`, 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\AppPrivacy', `HKU\\${TEACHER}\\${CONSENT}\\webcam`, `HKU\\${TEACHER}\\${CONSENT}\\microphone`]);
  });

  it('asks PowerShell for UTF-8 in one encoded command (quotes survive), so a Chinese Windows does not garble device names; "no device" is an empty list', async () => {
    const decoded = Buffer.from(MEDIA_COMMAND.at(-1) ?? '', 'base64').toString('utf16le');
    expect(decoded).toBe(MEDIA_SCRIPT);
    expect(MEDIA_COMMAND.slice(0, 3)).toEqual(['-NoProfile', '-NonInteractive', '-EncodedCommand']);
    expect(decoded).toMatch(/^\[Console\]::OutputEncoding = \[Text\.Encoding\]::UTF8\r?\n\$pnp = @\(Get-PnpDevice -PresentOnly -Class 'Camera','Image','AudioEndpoint','MEDIA' /);
    const cycle = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'ok', stdout: '{"pnp":[],"capture":["",""]}' } }).run })], { config, log: silentLogger });
    expect(cycle.devices).toEqual([]);
    expect(cycle.recording).toEqual([]);
    expect(cycle.sources[0]?.state).toBe('ok');
  });

  it('reads the default recording device: one endpoint for both roles, at 75 %; muted is MICROPHONE_MUTED and level zero MICROPHONE_LEVEL_ZERO, named by its Plug and Play device', async () => {
    const healthy = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc().run })], { config, log: silentLogger });
    expect(healthy.recording).toEqual([{ endpointId: MICROPHONE_ENDPOINT, roles: ['console', 'communications'], muted: false, levelPercent: 75 }]);
    const detect = async (capture: unknown[]) => {
      const cycle = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: mediaAnswer(capture) }).run })], { config, log: silentLogger });
      return new FaultMonitor(config, null).detect(cycle).filter((fault) => fault.code.startsWith('MICROPHONE')).map((fault) => [fault.code, fault.message, fault.deviceId]);
    };
    expect(await detect([`${MICROPHONE_ENDPOINT}|1|0.75`, ''])).toEqual([['MICROPHONE_MUTED', '麦克风 (Realtek(R) Audio): microphone capture is muted', `pnp:SWD\\MMDEVAPI\\${MICROPHONE_ENDPOINT}`]]);
    expect(await detect(['', `${MICROPHONE_ENDPOINT}|0|0`])).toEqual([['MICROPHONE_LEVEL_ZERO', '麦克风 (Realtek(R) Audio): the recording level is at zero, so the class is not heard', `pnp:SWD\\MMDEVAPI\\${MICROPHONE_ENDPOINT}`]]);
    // A recording device the PnP list did not show is still named, by its endpoint id.
    const other = '{0.0.1.00000000}.{11111111-2222-3333-4444-555555555555}';
    expect(await detect([`${other}|0|1.5E-05`, ''])).toEqual([['MICROPHONE_LEVEL_ZERO', `${other}: the recording level is at zero, so the class is not heard`, null]]);
  });

  it("keeps the devices when Core Audio fails or answers garbage, and logs why; a list missing from the answer is the source's error", async () => {
    for (const capture of [['error: Class not registered'], ['not an endpoint'], [42]]) {
      const warnings: string[] = [];
      const log = { ...silentLogger, warn: (fields: unknown) => warnings.push(JSON.stringify(fields)) } as typeof silentLogger;
      const cycle = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: mediaAnswer(capture) }).run })], { config, log });
      expect(cycle.devices).toHaveLength(3);
      expect(cycle.recording).toBeUndefined();
      expect(warnings.join()).toMatch(/Core Audio could not be asked|id\|mute\|level|not text/);
    }
    const old = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'ok', stdout: readFileSync(join(FIXTURES, 'get-pnpdevice-room203.json'), 'utf8') } }).run })], { config, log: silentLogger });
    expect(old.sources[0]).toMatchObject({ state: 'error', errorCode: 'PROBE_FAILED' });
    expect(old.sources[0]?.reason).toMatch(/without its "pnp" and "capture" lists/);
  });

  it('says why when PowerShell is missing, and reports its garbage as the source\'s error, never a crashed cycle', async () => {
    const missing = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'not-installed' } }).run })], { config, log: silentLogger });
    expect(missing.sources[0]).toMatchObject({ state: 'unavailable', reasonKey: 'sourceReason.noPowerShell' });
    const garbled = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'ok', stdout: 'Get-PnpDevice : The term is not recognized' } }).run })], { config, log: silentLogger });
    expect(garbled.sources[0]).toMatchObject({ state: 'error', errorCode: 'PROBE_FAILED' });
    expect(garbled.sources[0]?.reason).toMatch(/Get-PnpDevice printed something that is not JSON/);
  });
});
