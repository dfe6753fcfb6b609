import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_AUDIO_POWERSHELL, readCaptureAnswers } from './core-audio.js';

/** Mono's C# compiler (.ci/run installs it): the same language PowerShell's Add-Type compiles. */
const MCS = ['/usr/bin/mcs', '/usr/local/bin/mcs'].find((path) => existsSync(path));

describe('the default recording device through Core Audio', () => {
  it.runIf(MCS !== undefined)('the C# that PowerShell compiles is valid C#, with the class and method the script calls', () => {
    const source = /@'\r?\n([\s\S]*?)\r?\n'@/.exec(CORE_AUDIO_POWERSHELL)?.[1];
    expect(source).toContain('public static string Default(int role)');
    expect(CORE_AUDIO_POWERSHELL).toContain('[AvcareCoreAudio.Capture]::Default(0), [AvcareCoreAudio.Capture]::Default(2)');
    const dir = mkdtempSync(join(tmpdir(), 'avcare-cs-'));
    try {
      writeFileSync(join(dir, 'core-audio.cs'), source ?? '');
      // Warnings are fine; an error makes mcs exit non-zero and execFileSync throw with its message.
      execFileSync(MCS ?? 'mcs', ['-nologo', '-target:library', `-out:${join(dir, 'core-audio.dll')}`, join(dir, 'core-audio.cs')], { stdio: 'pipe' });
      expect(existsSync(join(dir, 'core-audio.dll'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the answers of both roles: one device default for both is one endpoint; none is no endpoint', () => {
    const id = '{0.0.1.00000000}.{8C2E5F14-3B6A-4F0E-9D2C-71A0B3E4C5D6}';
    const other = '{0.0.1.00000000}.{11111111-2222-3333-4444-555555555555}';
    expect(readCaptureAnswers([`${id}|0|0.5`, `${id}|0|0.5`])).toEqual([{ endpointId: id, roles: ['console', 'communications'], muted: false, levelPercent: 50 }]);
    expect(readCaptureAnswers([`${id}|1|1`, `${other}|0|0.04`])).toEqual([
      { endpointId: id, roles: ['console'], muted: true, levelPercent: 100 },
      { endpointId: other, roles: ['communications'], muted: false, levelPercent: 4 },
    ]);
    expect(readCaptureAnswers(['', ''])).toEqual([]);
  });

  it('throws a clear error on what is not an answer', () => {
    expect(() => readCaptureAnswers(['error: Class not registered'])).toThrow(/Core Audio could not be asked for the default recording device: Class not registered/);
    expect(() => readCaptureAnswers(['{0.0.1.00000000}|0|0.5'])).toThrow(/not "id\|mute\|level"/);
    expect(() => readCaptureAnswers([{ id: 1 }])).toThrow(/not text/);
  });
});
