import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAEMON_NODE_FLAGS } from '../agent/daemon-node-flags.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const installScript = join(repoRoot, 'install.sh');

function commandWorks(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Prefix the command, e.g. to drop privileges with setpriv. */
  wrapper?: string[];
  script?: string;
}

function runInstall(args: string[], options: RunOptions = {}): SpawnSyncReturns<string> {
  const command = [...(options.wrapper ?? []), 'bash', options.script ?? installScript, ...args];
  const [program, ...rest] = command as [string, ...string[]];
  return spawnSync(program, rest, {
    cwd: tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
}

/** Every file and directory under root, relative to it: what a run left behind. */
function listTree(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

let avcareRoot: string;

beforeEach(() => {
  avcareRoot = mkdtempSync(join(tmpdir(), 'avcare-install-root-'));
});

afterEach(() => {
  rmSync(avcareRoot, { recursive: true, force: true });
});

describe('install.sh --dry-run (install)', () => {
  it('prints the udev rule, the service user, the systemd unit and systemctl enable, and writes nothing', () => {
    const result = runInstall(['--dry-run'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.stderr).not.toMatch(/avcare: error/);
    expect(result.status).toBe(0);
    const plan = result.stdout;
    expect(plan).toContain(`would write ${avcareRoot}/etc/udev/rules.d/60-avcare.rules`);
    // Each desktop session starts the request watcher as the person logged in (notifications reach only their own session).
    expect(plan).toContain(`would write ${avcareRoot}/etc/xdg/autostart/avcare-consent-watch.desktop`);
    expect(plan).toMatch(/ENV\{ID_USB_INTERFACES\}=="\*:0e\?\?\?\?:\*", MODE="0664", GROUP="avcare"/);
    // The user either exists on this machine already or the plan creates it.
    expect(plan).toMatch(/would run: useradd --system .*avcare$|system user avcare exists/m);
    expect(plan).toContain(`would write ${avcareRoot}/etc/systemd/system/avcare-agent.service`);
    const execStart = /^ {4}\| ExecStart=(\/\S+) (.*) (\/\S+\/avcare\/dist\/agent\/cli\.js) run$/m.exec(plan);
    // The flags bench:agent measures the daemon with are the flags the service runs it with.
    expect(execStart?.[2]?.split(' ')).toEqual(DAEMON_NODE_FLAGS);
    expect(plan).toContain('| MemoryDenyWriteExecute=yes');
    expect(plan).toContain('| User=avcare');
    expect(plan).toContain('| MemoryMax=150M');
    expect(plan).toContain('| MemoryHigh=100M');
    expect(plan).toContain('| Restart=on-failure');
    expect(plan).toContain('| RestartSec=5');
    expect(plan).toContain('| Environment=AVCARE_CONFIG=/etc/avcare/agent.json');
    expect(plan).toContain('| ProtectSystem=strict');
    // Printed as a command on a systemd machine, named as skipped in a container: present either way.
    expect(plan).toContain('systemctl enable avcare-agent.service');
    expect(plan).toContain('dry run finished: nothing was changed');
    expect(listTree(avcareRoot)).toEqual([]);
  });

  it('with --cloud and --token enrolls the PC as the avcare user, masking the token in what it prints', () => {
    const token = 'avc_et_Zx9Q2mK7vB4nR8tY1wE5uI3oP6aS0dF2gH4jL6';
    const ca = join(avcareRoot, 'school-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const result = runInstall(['--dry-run', '--cloud', 'https://avcare.example.edu.cn', '--token', token, '--room', 'r101', '--ca', ca], { env: { AVCARE_ROOT: join(avcareRoot, 'root') } });
    expect(result.stderr).not.toMatch(/avcare: error/);
    expect(result.status).toBe(0);
    const plan = result.stdout;
    expect(plan).toMatch(/would run: runuser -u avcare -- env STATE_DIRECTORY=\/var\/lib\/avcare AVCARE_CONFIG=\/etc\/avcare\/agent\.json \S+ \S+\/avcare\/dist\/agent\/cli\.js enroll --cloud https:\/\/avcare\.example\.edu\.cn --token \[token\] --room r101 --ca \/etc\/avcare\/cloud-ca\.pem$/m);
    expect(plan).toContain(`would write ${avcareRoot}/root/etc/avcare/cloud-ca.pem (mode 0644, owner root:root)`);
    expect(`${plan}${result.stderr}`).not.toContain(token);
    // Enrolled, the school comes with the token: the sample configuration does not name one.
    expect(plan).not.toContain('"schoolId"');
    // The enrollment comes before the service is (re)started with it.
    expect(plan.indexOf(' enroll --cloud')).toBeLessThan(plan.indexOf('systemctl enable avcare-agent.service'));
  });

  it.each([
    [['--cloud', 'https://avcare.example.edu.cn'], '--cloud needs --token'],
    [['--token', 'avc_et_abcdefghijklmnop'], '--token needs --cloud'],
    [['--cloud', 'ftp://avcare', '--token', 'avc_et_abcdefghijklmnop'], "bad value for --cloud: 'ftp://avcare'"],
    [['--cloud', 'https://avcare', '--token', 'has spaces in it'], 'bad value for --token'],
    [['--cloud', 'https://avcare', '--token', 'avc_et_abcdefghijklmnop', '--school', 's1'], '--school does not go with --cloud'],
    [['--ca', '/tmp/ca.pem'], '--ca goes with --cloud'],
  ])('refuses %j naming the problem', (args, message) => {
    const result = runInstall(['--dry-run', ...args], { env: { AVCARE_ROOT: avcareRoot } });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('puts --school and --room into the new sample config it would write', () => {
    const result = runInstall(['--dry-run', '--school', 's1', '--room', 'r101'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`would write ${avcareRoot}/etc/avcare/agent.json (mode 0640, owner root:avcare)`);
    expect(result.stdout).toContain('|   "schoolId": "s1",');
    expect(result.stdout).toContain('|   "roomId": "r101",');
    expect(listTree(avcareRoot)).toEqual([]);
  });

  it('keeps an existing agent.json and says that --school was not applied', () => {
    const configDir = join(avcareRoot, 'etc', 'avcare');
    mkdirSync(configDir, { recursive: true });
    const userConfig = '{ "schoolId": "mine" }\n';
    writeFileSync(join(configDir, 'agent.json'), userConfig);

    const result = runInstall(['--dry-run', '--school', 's1'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`keeping your ${avcareRoot}/etc/avcare/agent.json`);
    expect(result.stdout).not.toContain('would write ' + join(configDir, 'agent.json'));
    expect(result.stderr).toContain('--school/--room were not applied');
    expect(readFileSync(join(configDir, 'agent.json'), 'utf8')).toBe(userConfig);
  });

  it('installs from the npm registry with --from-npm VERSION instead of building the clone', () => {
    const result = runInstall(['--dry-run', '--from-npm', '0.1.0'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/would run: \S*npm install -g --no-audit --no-fund avcare@0\.1\.0/);
    expect(result.stdout).not.toContain(' ci --no-audit');
  });

  it('builds the clone with npm ci and npm pack, then installs the tarball globally', () => {
    const result = runInstall(['--dry-run'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.stdout).toMatch(/would run: .*npm ci --no-audit --no-fund/);
    expect(result.stdout).toMatch(/would run: .*npm pack --pack-destination /);
    expect(result.stdout).toMatch(/would run: \S*npm install -g --no-audit --no-fund \S+\/avcare-\d+\.\d+\.\d+\S*\.tgz/);
  });

  it('works for an unprivileged user', (context) => {
    const isRoot = process.getuid?.() === 0;
    const canDrop = commandWorks('setpriv', ['--version']);
    context.skip(isRoot && !canDrop, 'running as root without setpriv to drop privileges');
    const home = mkdtempSync(join(tmpdir(), 'avcare-install-home-'));
    try {
      chmodSync(avcareRoot, 0o777);
      chmodSync(home, 0o777);
      const wrapper = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
      // The clone may sit in a directory only root can enter (a CI's mktemp -d): the unprivileged
      // user gets its own copy of what a dry run from a source tree reads.
      const tree = join(home, 'avcare');
      mkdirSync(tree, { mode: 0o755 });
      for (const file of ['install.sh', 'package.json', 'tsconfig.build.json']) copyFileSync(join(repoRoot, file), join(tree, file));
      const result = runInstall(['--dry-run'], { env: { AVCARE_ROOT: avcareRoot, HOME: home }, wrapper, script: join(tree, 'install.sh') });

      expect(result.stderr).not.toMatch(/avcare: error/);
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/dry run: printing every action, changing nothing \(running as (?!root\))/);
      expect(result.stdout).toContain('MemoryMax=150M');
      expect(listTree(avcareRoot)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('install.sh --dry-run --uninstall', () => {
  function seedInstalledFiles(): void {
    for (const dir of ['etc/udev/rules.d', 'etc/systemd/system', 'etc/avcare', 'var/lib/avcare']) {
      mkdirSync(join(avcareRoot, dir), { recursive: true });
    }
    writeFileSync(join(avcareRoot, 'etc/udev/rules.d/60-avcare.rules'), '# rule\n');
    writeFileSync(join(avcareRoot, 'etc/systemd/system/avcare-agent.service'), '[Unit]\n');
    writeFileSync(join(avcareRoot, 'etc/avcare/agent.json'), '{}\n');
  }

  it('plans to remove the unit and the rule, keeps config and state, and removes nothing', () => {
    seedInstalledFiles();
    const before = listTree(avcareRoot);

    const result = runInstall(['--dry-run', '--uninstall'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`would run: rm -rf -- ${avcareRoot}/etc/systemd/system/avcare-agent.service`);
    expect(result.stdout).toContain(`would run: rm -rf -- ${avcareRoot}/etc/udev/rules.d/60-avcare.rules`);
    expect(result.stdout).toMatch(/would run: userdel avcare|no user avcare to remove/);
    expect(result.stdout).toContain(`kept ${avcareRoot}/etc/avcare and ${avcareRoot}/var/lib/avcare`);
    expect(result.stdout).not.toContain(`rm -rf -- ${avcareRoot}/etc/avcare\n`);
    expect(listTree(avcareRoot)).toEqual(before);
  });

  it('plans to delete config and state only with --purge', () => {
    seedInstalledFiles();

    const result = runInstall(['--dry-run', '--uninstall', '--purge'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`would run: rm -rf -- ${avcareRoot}/etc/avcare\n`);
    expect(result.stdout).toContain(`would run: rm -rf -- ${avcareRoot}/var/lib/avcare\n`);
    expect(readFileSync(join(avcareRoot, 'etc/avcare/agent.json'), 'utf8')).toBe('{}\n');
  });
});

describe('install.sh arguments', () => {
  it('rejects an unknown flag with a non-zero exit naming the flag', () => {
    const result = runInstall(['--dry-run', '--bogus'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown option '--bogus'");
    expect(result.stdout).toBe('');
  });

  it('rejects a room id that could not be an MQTT topic level', () => {
    const result = runInstall(['--dry-run', '--room', 'room/101'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("bad value for --room: 'room/101'");
  });

  it('rejects --school without a value', () => {
    const result = runInstall(['--dry-run', '--school'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain("option '--school' needs a value");
  });

  it('rejects --purge without --uninstall', () => {
    const result = runInstall(['--dry-run', '--purge'], { env: { AVCARE_ROOT: avcareRoot } });

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--purge only goes with --uninstall');
  });

  it('prints usage with --help and exits 0', () => {
    const result = runInstall(['--help']);

    expect(result.status).toBe(0);
    for (const option of ['--school', '--room', '--from-npm', '--yes', '--dry-run', '--uninstall', '--purge']) {
      expect(result.stdout).toContain(option);
    }
  });
});

describe('install.sh when Node.js is too old', () => {
  /**
   * Fake node (v18), apt-cache (offers nodejs 20.20.2) and apt-get (records its arguments and
   * fails) first on PATH, so the real run stops inside the Node step and cannot change the system.
   */
  function fakeToolsDir(): { dir: string; aptLog: string } {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-fake-tools-'));
    const aptLog = join(dir, 'apt-get.log');
    const scripts: Record<string, string> = {
      node: '#!/bin/sh\necho v18.19.0\n',
      'apt-cache': '#!/bin/sh\nprintf "nodejs:\\n  Installed: (none)\\n  Candidate: 20.20.2-1\\n"\n',
      'apt-get': `#!/bin/sh\necho "$*" >> '${aptLog}'\nexit 1\n`,
    };
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(join(dir, name), body, { mode: 0o755 });
    }
    return { dir, aptLog };
  }

  it('stops with a message naming --yes when stdin is not a terminal, before running apt-get', (context) => {
    context.skip(process.getuid?.() !== 0, 'a real (not dry) run needs root, else install.sh re-runs itself with sudo');
    const { dir, aptLog } = fakeToolsDir();
    try {
      const result = runInstall([], { env: { AVCARE_ROOT: avcareRoot, PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin` } });

      expect(result.status).toBe(1);
      expect(result.stderr).toContain('Node.js 18.19.0 is older than 20.19.0');
      expect(result.stderr).toContain('stdin is not a terminal');
      expect(result.stderr).toContain('--yes');
      expect(() => readFileSync(aptLog, 'utf8')).toThrow(/ENOENT/);
      expect(listTree(avcareRoot)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with --yes goes on to apt-get install nodejs without asking', (context) => {
    context.skip(process.getuid?.() !== 0, 'a real (not dry) run needs root, else install.sh re-runs itself with sudo');
    const { dir, aptLog } = fakeToolsDir();
    try {
      const result = runInstall(['--yes'], { env: { AVCARE_ROOT: avcareRoot, PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin` } });

      expect(result.status).not.toBe(0); // the fake apt-get fails, which stops the script there
      expect(readFileSync(aptLog, 'utf8')).toContain('install -y -q --no-install-recommends nodejs');
      expect(listTree(avcareRoot)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('install.sh lint', () => {
  it('passes shellcheck', (context) => {
    context.skip(!commandWorks('shellcheck', ['--version']), 'shellcheck is not installed (CI installs it: apt-get install shellcheck)');
    const result = spawnSync('shellcheck', [installScript], { encoding: 'utf8' });

    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
