import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../agent/daemon-node-flags.js';
import { platformFor } from '../agent/platform/platform.js';

const ROOT = join(import.meta.dirname, '..');
const SCRIPT = join(ROOT, 'install-macos.sh');
const TOKEN = 'avc_et_0123456789abcdefSECRET';

function installMacos(args: string[]) {
  return spawnSync('bash', [SCRIPT, ...args], { cwd: tmpdir(), encoding: 'utf8', timeout: 30_000 });
}

describe('install-macos.sh, its plan printed on Linux (--dry-run)', () => {
  it('installs the package in its own prefix, makes the _avcare user and folders, enrolls as that user with the token masked, then writes and loads the plist the agent generates', () => {
    const result = installMacos(['--dry-run', '--cloud', 'https://avcare.example.edu.cn', '--token', TOKEN, '--room', 'r101']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const plan = result.stdout;
    expect(plan).not.toContain(TOKEN);
    const steps = [
      'npm install -g --prefix /usr/local/avcare',
      'ln -sf /usr/local/avcare/bin/avcare-agent /usr/local/bin/avcare-agent',
      'dscl . -create /Users/_avcare UserShell /usr/bin/false',
      'install -d -m 0750 -o _avcare -g _avcare /Library/Application\\ Support/avcare',
      'sudo -u _avcare env STATE_DIRECTORY=/Library/Application\\ Support/avcare',
      'enroll --cloud https://avcare.example.edu.cn --token [token] --room r101',
      'service-definition --platform macos',
      'chown root:wheel /Library/LaunchDaemons/cn.avcare.agent.plist',
      'launchctl bootstrap system /Library/LaunchDaemons/cn.avcare.agent.plist',
      '--notice-watch --write',
      'chown root:wheel /Library/LaunchAgents/cn.avcare.consent-watch.plist',
    ];
    const positions = steps.map((step) => plan.indexOf(step));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // Enrolled, the config holds no school or room of its own: the identity names them.
    expect(plan).toContain('would write /Library/Application Support/avcare/agent.json (mode 0640, root:_avcare):\n{\n  "serialPorts": [],\n  "pjlink": []\n}');
  });

  it('the plist it loads is where the agent writes it, runs as _avcare and logs where the script made the folder', () => {
    const script = readFileSync(SCRIPT, 'utf8');
    const definition = platformFor('darwin').serviceDefinition({ nodePath: '/usr/local/bin/node', agentEntry: '/usr/local/avcare/lib/node_modules/avcare/dist/agent/cli.js', nodeFlags: DAEMON_NODE_FLAGS });
    expect(definition?.path).toBe('/Library/LaunchDaemons/cn.avcare.agent.plist');
    expect(script).toContain('readonly PLIST_FILE="/Library/LaunchDaemons/$LABEL.plist"');
    expect(script).toContain('readonly LABEL=cn.avcare.agent');
    expect(definition?.text).toContain('<key>UserName</key>\n\t<string>_avcare</string>');
    expect(definition?.text).toContain('<string>/Library/Logs/avcare/agent.log</string>');
    expect(script).toContain('readonly LOG_DIR=/Library/Logs/avcare');
    expect(script).toContain('readonly STATE_DIR="/Library/Application Support/avcare"');
    expect(definition?.text).toContain('<string>/Library/Application Support/avcare/agent.json</string>');
  });

  it('uninstalls: unloads the daemon, removes the plist, the prefix and the user; keeps the state unless --purge', () => {
    const kept = installMacos(['--dry-run', '--uninstall']);
    expect(kept.status).toBe(0);
    expect(kept.stdout).toContain('launchctl bootout system/cn.avcare.agent');
    expect(kept.stdout).toContain('rm -f /Library/LaunchDaemons/cn.avcare.agent.plist /Library/LaunchAgents/cn.avcare.consent-watch.plist /usr/local/bin/avcare-agent');
    expect(kept.stdout).toContain('rm -rf /usr/local/avcare');
    expect(kept.stdout).toContain('kept /Library/Application Support/avcare and /Library/Logs/avcare');
    const purged = installMacos(['--dry-run', '--uninstall', '--purge']);
    expect(purged.stdout).toContain('rm -rf /Library/Application\\ Support/avcare /Library/Logs/avcare');
  });

  it('refuses bad arguments with the reason, and to run for real anywhere but a Mac', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--cloud', 'https://a.example'], /--cloud needs --token/],
      [['--token', TOKEN], /--token needs --cloud/],
      [['--cloud', 'ftp://a', '--token', TOKEN], /bad value for --cloud/],
      [['--cloud', 'https://a.example', '--token', 'short'], /bad value for --token/],
      [['--room', 'room 101'], /bad id 'room 101'/],
      [['--purge'], /--purge only goes with --uninstall/],
      [['--uninstall', '--room', 'r1'], /do not go with --uninstall/],
      [['--bogus'], /unknown option: --bogus/],
    ];
    for (const [args, reason] of cases) {
      const result = installMacos(['--dry-run', ...args]);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(reason);
    }
    const real = installMacos([]);
    expect(real.status).toBe(1);
    expect(real.stderr).toMatch(/this is install-macos.sh; on Linux use install.sh, on Windows install.ps1/);
  });
});
