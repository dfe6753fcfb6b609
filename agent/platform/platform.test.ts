import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../daemon-node-flags.js';
import { resolveStateDir } from '../state-dir.js';
import { platformFor } from './platform.js';

/** xmllint (libxml2-utils, which .ci/run installs) says whether a file is well-formed XML: a missing tool fails, never skips. */
function wellFormed(text: string): void {
  const file = join(mkdtempSync(join(tmpdir(), 'avcare-xml-')), 'definition.xml');
  writeFileSync(file, text);
  execFileSync('xmllint', ['--noout', '--nonet', file], { stdio: 'pipe' });
}

describe('the platform, chosen once at start', () => {
  it('is Windows on win32, macOS on darwin, Linux elsewhere', () => {
    expect([platformFor('win32').id, platformFor('darwin').id, platformFor('linux').id, platformFor('freebsd').id]).toEqual(['windows', 'macos', 'linux', 'linux']);
  });

  it('puts the service state where each system keeps a service\'s data, and a person\'s own agent in their own folder', () => {
    const windows = platformFor('win32');
    expect(windows.serviceStateDir).toMatch(/\\avcare$/);
    expect(windows.serviceConfigFile).toBe(`${windows.serviceStateDir}\\agent.json`);
    expect(resolveStateDir({}, { STATE_DIRECTORY: 'C:\\ProgramData\\avcare' }, -1, windows)).toBe('C:\\ProgramData\\avcare');
    expect(resolveStateDir({}, { LOCALAPPDATA: 'C:\\Users\\teacher\\AppData\\Local' }, -1, windows)).toBe('C:\\Users\\teacher\\AppData\\Local\\avcare');
    expect(resolveStateDir({}, {}, 0, platformFor('darwin'))).toBe('/Library/Application Support/avcare');
    expect(resolveStateDir({}, {}, 0, platformFor('linux'))).toBe('/var/lib/avcare');
    expect(resolveStateDir({}, { XDG_STATE_HOME: '/home/t/.state' }, 1000, platformFor('linux'))).toBe('/home/t/.state/avcare');
  });

  it('addresses the control channel as a Unix socket in the state directory, or a named pipe on Windows', () => {
    const windows = platformFor('win32');
    expect(windows.controlEndpoint(windows.serviceStateDir)).toBe('\\\\.\\pipe\\avcare-agent');
    expect(windows.controlEndpoint('C:\\Users\\teacher\\AppData\\Local\\avcare')).toMatch(/^\\\\\.\\pipe\\avcare-agent-[0-9a-f]{12}$/);
    expect(platformFor('darwin').controlEndpoint('/Library/Application Support/avcare')).toBe('/Library/Application Support/avcare/agent.sock');
    expect(platformFor('linux').controlEndpoint('/var/lib/avcare')).toBe('/var/lib/avcare/agent.sock');
  });
});

describe('the service definitions the installers write', () => {
  const options = { nodePath: 'C:\\Program Files\\nodejs\\node.exe', agentEntry: 'C:\\Program Files\\avcare & co\\dist\\agent\\cli.js', nodeFlags: DAEMON_NODE_FLAGS };

  it('Windows: a WinSW service that starts at boot, restarts on failure and runs the daemon with its flags; paths quoted and escaped', () => {
    const definition = platformFor('win32').serviceDefinition(options);
    expect(definition?.path).toMatch(/\\avcare\\avcare-agent\.xml$/);
    const xml = definition?.text ?? '';
    wellFormed(xml);
    expect(xml).toContain('<executable>C:\\Program Files\\nodejs\\node.exe</executable>');
    expect(xml).toContain('<arguments>--jitless --no-expose-wasm --max-semi-space-size=1 &quot;C:\\Program Files\\avcare &amp; co\\dist\\agent\\cli.js&quot; run</arguments>');
    expect(xml).toContain('<startmode>Automatic</startmode>');
    expect(xml.match(/<onfailure action="restart"/g)).toHaveLength(2);
    expect(xml).toMatch(/<env name="AVCARE_CONFIG" value="[^"]*\\avcare\\agent\.json"\/>/);
  });

  it('macOS: a launchd daemon at boot, kept alive after a failure, as _avcare, with the same arguments in order', () => {
    const definition = platformFor('darwin').serviceDefinition({ nodePath: '/usr/local/bin/node', agentEntry: '/usr/local/lib/node_modules/avcare/dist/agent/cli.js', nodeFlags: DAEMON_NODE_FLAGS });
    expect(definition?.path).toBe('/Library/LaunchDaemons/cn.avcare.agent.plist');
    const plist = definition?.text ?? '';
    wellFormed(plist);
    const args = [...plist.slice(plist.indexOf('<key>ProgramArguments</key>'), plist.indexOf('</array>')).matchAll(/<string>([^<]*)<\/string>/g)].map((match) => match[1]);
    expect(args).toEqual(['/usr/local/bin/node', ...DAEMON_NODE_FLAGS, '/usr/local/lib/node_modules/avcare/dist/agent/cli.js', 'run']);
    expect(plist).toMatch(/<key>RunAtLoad<\/key>\s*<true\/>/);
    expect(plist).toMatch(/<key>KeepAlive<\/key>\s*<dict>\s*<key>SuccessfulExit<\/key>\s*<false\/>/);
    expect(plist).toMatch(/<key>UserName<\/key>\s*<string>_avcare<\/string>/);
  });

  it('Linux: none here, since install.sh writes the systemd unit with its sandboxing', () => {
    expect(platformFor('linux').serviceDefinition(options)).toBeNull();
  });

  it("macOS: a LaunchAgent starts the session-request notice in each person's login session; Linux's comes from install.sh, Windows has none (the pipe is administrators' only)", () => {
    const definition = platformFor('darwin').noticeAutostart({ nodePath: '/usr/local/bin/node', agentEntry: '/usr/local/avcare/lib/node_modules/avcare/dist/agent/cli.js', nodeFlags: DAEMON_NODE_FLAGS });
    expect(definition?.path).toBe('/Library/LaunchAgents/cn.avcare.consent-watch.plist');
    const plist = definition?.text ?? '';
    wellFormed(plist);
    const args = [...plist.slice(plist.indexOf('<key>ProgramArguments</key>'), plist.indexOf('</array>')).matchAll(/<string>([^<]*)<\/string>/g)].map((match) => match[1]);
    expect(args).toEqual(['/usr/local/bin/node', '/usr/local/avcare/lib/node_modules/avcare/dist/agent/cli.js', 'consent', 'watch', '--notify']);
    expect(plist).toMatch(/<key>LimitLoadToSessionType<\/key>\s*<string>Aqua<\/string>/);
    expect(plist).not.toContain('UserName');
    expect(platformFor('linux').noticeAutostart(options)).toBeNull();
    expect(platformFor('win32').noticeAutostart(options)).toBeNull();
  });
});
