import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { platformFor } from '../agent/platform/platform.js';
import { MEDIA_SCRIPT } from '../agent/platform/windows/windows-media-probe.js';
import { powershellSyntaxProblems } from './helpers/powershell-syntax.js';

const ROOT = join(import.meta.dirname, '..');
const script = readFileSync(join(ROOT, 'install.ps1'), 'utf8');

describe('install.ps1 (Windows), checked where no PowerShell runs', () => {
  it('parses as PowerShell, as does the media query the agent runs', async () => {
    expect(await powershellSyntaxProblems(script)).toEqual([]);
    expect(await powershellSyntaxProblems(MEDIA_SCRIPT)).toEqual([]);
  });

  it('the syntax check finds a broken script (it is not a check that passes everything)', async () => {
    const broken = script.replace('function Test-Arguments {', 'function Test-Arguments {{');
    expect((await powershellSyntaxProblems(broken)).length).toBeGreaterThan(0);
    expect(await powershellSyntaxProblems('if ($x { Write-Host "y"\n')).not.toEqual([]);
  });

  it("writes the service definition the agent generates, beside the wrapper it names after the service id", () => {
    const definition = platformFor('win32').serviceDefinition({ nodePath: 'node.exe', agentEntry: 'cli.js', nodeFlags: [] });
    expect(definition?.text).toContain('<id>avcare-agent</id>');
    expect(definition?.path).toMatch(/\\avcare\\avcare-agent\.xml$/);
    expect(script).toContain("$ServiceId = 'avcare-agent'");
    expect(script).toContain('$WrapperExe = Join-Path $InstallDir "$ServiceId.exe"');
    expect(script).toContain("$InstallDir = Join-Path $env:ProgramFiles 'avcare'");
    expect(script).toMatch(/Invoke-Step \$Node @\(\$Entry, 'service-definition', '--platform', 'windows', '--node', \$Node, '--write'\)/);
  });

  it('keeps %ProgramData%\\avcare to SYSTEM, administrators and the service, locked before anything is written', () => {
    const lock = script.indexOf('Protect-StateDir\n  Install-Config');
    expect(lock).toBeGreaterThan(0);
    expect(script).toContain("'/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'");
    expect(script).toContain('"${ServiceLogon}:(OI)(CI)M"');
    expect(script).toContain(`$ServiceLogon = if ($ServiceAccount -eq 'LocalSystem') { 'LocalSystem' } else { "NT SERVICE\\$ServiceId" }`);
    expect(script).toContain("[ValidateSet('Virtual', 'LocalSystem')]\n  [string]$ServiceAccount = 'Virtual'");
  });

  it("posts session requests where every person may read them and starts the notice watch at each person's logon", () => {
    expect(platformFor('win32').noticeAutostart({ nodePath: 'node.exe', agentEntry: 'cli.js', nodeFlags: [] })).toBeNull();
    expect(script).toContain("$NoticeDir = Join-Path $env:ProgramData 'avcare-notices'");
    expect(script).toContain("'*S-1-5-32-545:(OI)(CI)RX'");
    expect(script).toContain("consent watch --notify");
    expect(script).toContain('New-ScheduledTaskPrincipal -GroupId $users -RunLevel Limited');
    expect(script.indexOf('Install-Service $node $entry')).toBeLessThan(script.indexOf('Install-NoticeBoard\n'));
  });

  it('never prints the enrollment token, and refuses what install.sh refuses', () => {
    expect(script).toContain(".Replace($Token, '[token]')");
    for (const refusal of ['-Cloud needs -Token', '-Token needs -Cloud', 'bad value for -Cloud', 'bad value for -Token', '-Purge only goes with -Uninstall', '-School does not go with -Cloud']) expect(script).toContain(refusal);
  });
});
