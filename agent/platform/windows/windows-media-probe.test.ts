import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../protocol/log.js';
import { parseAgentConfig } from '../../config.js';
import { runProbeCycle } from '../../cycle.js';
import { FaultMonitor } from '../../fault-monitor.js';
import type { CommandOutput, RunCommand } from '../../probes/run-command.js';
import { createWindowsMediaProbe, PNP_QUERY } from './windows-media-probe.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/windows');
const TEACHER = 'S-1-5-21-3623811015-3361044348-30300820-1013';
const CONSENT = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\CapabilityAccessManager\\ConsentStore';

/** A Windows PC as its tools answer: PowerShell from the recorded Get-PnpDevice JSON, reg.exe from the registry below. */
function windowsPc(overrides: { powershell?: CommandOutput } = {}): { run: RunCommand; calls: string[][] } {
  const calls: string[][] = [];
  const registry: Record<string, string> = {
    HKU: `\r\nHKEY_USERS\\.DEFAULT\r\nHKEY_USERS\\S-1-5-19\r\nHKEY_USERS\\${TEACHER}\r\nHKEY_USERS\\${TEACHER}_Classes\r\n`,
    [`HKLM\\${CONSENT}\\webcam`]: `\r\nHKEY_LOCAL_MACHINE\\${CONSENT}\\webcam\r\n    Value    REG_SZ    Allow\r\n`,
    [`HKU\\${TEACHER}\\${CONSENT}\\webcam`]: `\r\nHKEY_USERS\\${TEACHER}\\${CONSENT}\\webcam\r\n    Value    REG_SZ    Allow\r\n\r\nHKEY_USERS\\${TEACHER}\\${CONSENT}\\webcam\\NonPackaged\r\n    Value    REG_SZ    Deny\r\n`,
  };
  const run: RunCommand = (file, args) => {
    calls.push([file, ...args]);
    if (file === 'powershell.exe') return Promise.resolve(overrides.powershell ?? { status: 'ok', stdout: readFileSync(join(FIXTURES, 'get-pnpdevice-room203.json'), 'utf8') });
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

  it('asks PowerShell for UTF-8, so a Chinese Windows does not garble device names, and takes "no device" as an empty answer', async () => {
    expect(PNP_QUERY).toMatch(/^\[Console\]::OutputEncoding = \[Text\.Encoding\]::UTF8;/);
    const cycle = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'ok', stdout: '' } }).run })], { config, log: silentLogger });
    expect(cycle.devices).toEqual([]);
    expect(cycle.sources[0]?.state).toBe('ok');
  });

  it('says why when PowerShell is missing, and reports its garbage as the source\'s error, never a crashed cycle', async () => {
    const missing = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'not-installed' } }).run })], { config, log: silentLogger });
    expect(missing.sources[0]).toMatchObject({ state: 'unavailable', reasonKey: 'sourceReason.noPowerShell' });
    const garbled = await runProbeCycle([createWindowsMediaProbe({ runCommand: windowsPc({ powershell: { status: 'ok', stdout: 'Get-PnpDevice : The term is not recognized' } }).run })], { config, log: silentLogger });
    expect(garbled.sources[0]).toMatchObject({ state: 'error', errorCode: 'PROBE_FAILED' });
    expect(garbled.sources[0]?.reason).toMatch(/Get-PnpDevice printed something that is not JSON/);
  });
});
