import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doctorExitCode, formatDoctorReport, MIN_NODE_VERSION, runDoctorChecks, type DoctorCheck, type DoctorEnv } from './doctor.js';

/** A fake machine: a temporary directory standing in for `/`, filled per test. */
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'avcare-doctor-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function put(path: string, content = ''): string {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
  return full;
}

function dir(path: string): string {
  const full = join(root, path);
  mkdirSync(full, { recursive: true });
  return full;
}

const ALL_TOOLS: Record<string, string> = { lsusb: '/usr/bin/lsusb', amixer: '/usr/bin/amixer', 'v4l2-ctl': '/usr/bin/v4l2-ctl' };

function fakeEnv(overrides: Partial<DoctorEnv> & { denied?: string[]; tools?: Record<string, string> } = {}): DoctorEnv {
  const { denied = [], tools = ALL_TOOLS, ...rest } = overrides;
  return {
    rootDir: root,
    platform: 'linux',
    nodeVersion: '20.20.2',
    uid: 1000,
    userName: 'teacher',
    groups: ['teacher'],
    which: (command) => Promise.resolve(tools[command]),
    canAccess: (path) => Promise.resolve(!denied.includes(path)),
    configPath: join(root, 'etc/avcare/agent.json'),
    configRequired: false,
    environment: { STATE_DIRECTORY: join(root, 'var/lib/avcare') },
    ...rest,
  };
}

async function check(id: string, env: DoctorEnv): Promise<DoctorCheck> {
  const found = (await runDoctorChecks(env)).find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
}

describe('node-version', () => {
  it('passes Node 20.19.0, the minimum in package.json engines', async () => {
    expect((await check('node-version', fakeEnv({ nodeVersion: '20.19.0' }))).status).toBe('ok');
  });

  it('fails Node 20.18.3 and Node 18 and names install.sh as the fix', async () => {
    for (const nodeVersion of ['20.18.3', '18.19.1']) {
      const result = await check('node-version', fakeEnv({ nodeVersion }));
      expect(result.status).toBe('fail');
      expect(result.detail).toContain(`${nodeVersion} is older than ${MIN_NODE_VERSION}`);
      expect(result.fix).toContain('sudo bash install.sh');
    }
  });

  it('uses the same minimum as package.json engines and install.sh', () => {
    const repoFile = (name: string) => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');
    const engines = (JSON.parse(repoFile('package.json')) as { engines: { node: string } }).engines.node;
    expect(`${engines.replace(/^>=/, '')}.0`.split('.').slice(0, 3).join('.')).toBe(MIN_NODE_VERSION);
    expect(repoFile('install.sh')).toMatch(new RegExp(`^readonly MIN_NODE_VERSION=${MIN_NODE_VERSION.replaceAll('.', '\\.')}\\b`, 'm'));
  });
});

describe('usb-bus', () => {
  it('fails with the reason "no /sys/bus/usb" when the machine has no USB bus', async () => {
    const result = await check('usb-bus', fakeEnv());
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('no /sys/bus/usb');
    expect(result.fix).toBeDefined();
  });

  it('counts devices and leaves interfaces out', async () => {
    for (const name of ['usb1', '1-1', '1-1:1.0', '1-1:1.1']) dir(`sys/bus/usb/devices/${name}`);
    const result = await check('usb-bus', fakeEnv());
    expect(result.status).toBe('ok');
    expect(result.detail).toMatch(/^2 USB devices/);
  });
});

describe('usb-access', () => {
  function usbMachine(): string[] {
    dir('sys/bus/usb/devices/usb1');
    return [put('dev/bus/usb/001/001'), put('dev/bus/usb/001/002'), put('dev/bus/usb/002/001')];
  }

  it('is skipped when there is no USB bus at all', async () => {
    const result = await check('usb-access', fakeEnv());
    expect(result.status).toBe('skip');
    expect(result.detail).toContain('no /sys/bus/usb');
  });

  it('warns when /dev/bus/usb is missing though the bus exists (a container without --device)', async () => {
    dir('sys/bus/usb/devices/usb1');
    const result = await check('usb-access', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('no /dev/bus/usb');
  });

  it('warns about unreadable device nodes and points to the udev rule of install.sh', async () => {
    const [, camera] = usbMachine();
    const result = await check('usb-access', fakeEnv({ denied: [camera ?? ''] }));
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('1 of 3 device nodes are not readable by teacher (/dev/bus/usb/001/002)');
    expect(result.fix).toContain('sudo bash install.sh');
    expect(result.fix).toContain('/etc/udev/rules.d/60-avcare.rules');
  });

  it('warns when the nodes are readable but the avcare udev rule is not installed', async () => {
    usbMachine();
    const result = await check('usb-access', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('udev rule is not installed');
  });

  it('passes with the rule installed and reports how many nodes this user may write', async () => {
    const [hub] = usbMachine();
    put('etc/udev/rules.d/60-avcare.rules', '# rule\n');
    const result = await check('usb-access', fakeEnv({ denied: [] , canAccess: (path, mode) => Promise.resolve(!(path === hub && mode === 2)) }));
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('3 device nodes readable, 2 writable by teacher');
  });

  it('passes for root without looking at permissions', async () => {
    const nodes = usbMachine();
    const result = await check('usb-access', fakeEnv({ uid: 0, userName: 'root', denied: nodes }));
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('running as root');
  });
});

describe('serial-access', () => {
  it('passes for root and for members of dialout', async () => {
    expect((await check('serial-access', fakeEnv({ uid: 0 }))).status).toBe('ok');
    expect((await check('serial-access', fakeEnv({ groups: ['teacher', 'dialout'] }))).status).toBe('ok');
  });

  it('warns a user outside dialout with the usermod command for that user', async () => {
    const result = await check('serial-access', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.fix).toContain('sudo usermod -aG dialout teacher');
  });

  it('gives the service user the usermod -aG dialout avcare fix', async () => {
    const result = await check('serial-access', fakeEnv({ userName: 'avcare' }));
    expect(result.fix).toContain('sudo usermod -aG dialout avcare');
  });

  it('fails when the configuration lists serial ports this user cannot open', async () => {
    put('etc/avcare/agent.json', JSON.stringify({ serialPorts: [{ path: '/dev/ttyUSB0' }] }));
    const result = await check('serial-access', fakeEnv());
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('(1 configured)');
  });
});

describe('service-user', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/bash\navcare:x:998:998:avcare agent:/var/lib/avcare:/usr/sbin/nologin\n';

  it('warns when install.sh has not created the avcare user', async () => {
    put('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n');
    put('etc/group', 'root:x:0:\n');
    const result = await check('service-user', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.fix).toBe('sudo bash install.sh');
  });

  it('names the groups avcare lacks and the usermod that adds them', async () => {
    put('etc/passwd', passwd);
    put('etc/group', 'dialout:x:20:\nvideo:x:44:avcare\naudio:x:29:someone\navcare:x:998:\n');
    const result = await check('service-user', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('not in group dialout, audio');
    expect(result.fix).toBe('sudo usermod -aG dialout,audio avcare && sudo systemctl restart avcare-agent');
  });

  it('passes when avcare is in every group that exists on the machine', async () => {
    put('etc/passwd', passwd);
    put('etc/group', 'dialout:x:20:avcare\nvideo:x:44:teacher,avcare\navcare:x:998:\n'); // no audio group here
    expect((await check('service-user', fakeEnv())).status).toBe('ok');
  });
});

describe('udev', () => {
  it('passes when udevd has its control socket', async () => {
    put('run/udev/control');
    expect((await check('udev', fakeEnv())).status).toBe('ok');
  });

  it('warns that hotplug falls back to polling without udev', async () => {
    const result = await check('udev', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('hotplug falls back to polling');
  });
});

describe('tools', () => {
  it('reports where each tool was found', async () => {
    const checks = await runDoctorChecks(fakeEnv());
    expect(checks.find((candidate) => candidate.id === 'tool-lsusb')).toMatchObject({ status: 'ok', detail: '/usr/bin/lsusb' });
  });

  it('warns about each missing tool with the apt-get command of its package', async () => {
    const checks = await runDoctorChecks(fakeEnv({ tools: {} }));
    const fixes = Object.fromEntries(checks.filter((candidate) => candidate.id.startsWith('tool-')).map((candidate) => [candidate.id, [candidate.status, candidate.fix]]));
    expect(fixes).toEqual({
      'tool-lsusb': ['warn', 'sudo apt-get install usbutils'],
      'tool-amixer': ['warn', 'sudo apt-get install alsa-utils'],
      'tool-v4l2-ctl': ['warn', 'sudo apt-get install v4l-utils'],
    });
  });
});

describe('usb-ids', () => {
  it('finds the database where hwdata keeps it', async () => {
    put('usr/share/hwdata/usb.ids', '046d  Logitech, Inc.\n');
    expect(await check('usb-ids', fakeEnv())).toMatchObject({ status: 'ok', detail: '/usr/share/hwdata/usb.ids' });
  });

  it('warns without it and names the Debian package', async () => {
    const result = await check('usb-ids', fakeEnv());
    expect(result.status).toBe('warn');
    expect(result.fix).toContain('sudo apt-get install usb.ids');
  });
});

describe('config', () => {
  it('accepts a missing default file: the agent runs on defaults', async () => {
    const result = await check('config', fakeEnv());
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('built-in defaults');
  });

  it('fails a missing file that was asked for explicitly', async () => {
    const result = await check('config', fakeEnv({ configRequired: true }));
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('cannot read');
  });

  it('fails a file that is not JSON', async () => {
    put('etc/avcare/agent.json', '{ schoolId: s1 ');
    const result = await check('config', fakeEnv());
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('is not valid JSON');
  });

  it('fails a bad field and names it, with the configuration hint as fix', async () => {
    put('etc/avcare/agent.json', JSON.stringify({ schoolId: 'school/1' }));
    const result = await check('config', fakeEnv());
    expect(result.status).toBe('fail');
    expect(result.detail).toContain('schoolId');
    expect(result.fix).toContain('Fix the named field');
  });

  it('passes a valid file and shows school and room', async () => {
    put('etc/avcare/agent.json', JSON.stringify({ schoolId: 's1', roomId: 'r101' }));
    const result = await check('config', fakeEnv());
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('school s1, room r101');
  });
});

describe('state-dir', () => {
  it('passes a writable state directory', async () => {
    const state = dir('var/lib/avcare');
    expect(await check('state-dir', fakeEnv())).toMatchObject({ status: 'ok', detail: `${state} is writable by teacher` });
  });

  it('fails a state directory this user cannot write, with the install -d fix', async () => {
    const state = dir('var/lib/avcare');
    const result = await check('state-dir', fakeEnv({ denied: [state] }));
    expect(result.status).toBe('fail');
    expect(result.fix).toContain(`sudo install -d -o avcare -g avcare -m 0750 ${state}`);
  });

  it('passes a missing state directory the user can create', async () => {
    const result = await check('state-dir', fakeEnv());
    expect(result.status).toBe('ok');
    expect(result.detail).toContain('does not exist yet');
  });

  it('fails a missing state directory under a folder the user cannot write', async () => {
    const result = await check('state-dir', fakeEnv({ denied: [root] }));
    expect(result.status).toBe('fail');
    expect(result.detail).toContain(`cannot create it in ${root}`);
  });

  it('uses stateDir from the configuration and fails when it is a file', async () => {
    const notADir = put('srv/avcare-state');
    put('etc/avcare/agent.json', JSON.stringify({ stateDir: notADir }));
    const result = await check('state-dir', fakeEnv());
    expect(result.status).toBe('fail');
    expect(result.detail).toBe(`${notADir} exists but is not a directory`);
  });
});

describe('enrollment', () => {
  const identity = (school = 'sch-1') => ({
    version: 1,
    cloudUrl: 'https://avcare.example.edu.cn',
    schoolId: school,
    agentId: 'pc-01',
    roomId: 'r101',
    installationId: '6f1c2b7e-0d4a-4c5e-9b1a-2f3e4d5c6b7a',
    mqtt: { url: 'mqtts://avcare.example.edu.cn:8883', username: `${school}:pc-01`, password: `avc_ms_${'x'.repeat(43)}`, clientId: `avcare-agent:${school}:pc-01` },
    signingKey: { algorithm: 'Ed25519', publicKeyPem: `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(60)}\n-----END PUBLIC KEY-----\n`, keyId: '0123456789abcdef' },
    enrolledAt: '2026-09-01T08:00:00.000Z',
    credentialIssuedAt: '2026-09-01T08:00:00.000Z',
  });

  it('warns that a PC without an identity reports to no cloud, and says how to enroll it', async () => {
    const result = await check('enrollment', fakeEnv());
    expect(result).toMatchObject({ status: 'warn', detail: expect.stringContaining('not enrolled') as string });
    expect(result.fix).toContain('install.sh --cloud URL --token TOKEN');
  });

  it('passes an identity kept owner-only, naming the agent, the cloud and the broker, never the secret', async () => {
    const file = put('var/lib/avcare/identity.json', JSON.stringify(identity()));
    chmodSync(file, 0o600);
    const result = await check('enrollment', fakeEnv());
    expect(result.status).toBe('ok');
    expect(result.detail).toBe('enrolled as sch-1:pc-01 (room r101) with https://avcare.example.edu.cn; broker mqtts://avcare.example.edu.cn:8883; cloud key 0123456789abcdef');
    expect(JSON.stringify(await runDoctorChecks(fakeEnv()))).not.toContain('avc_ms_');
  });

  it('fails an identity others can read, and a damaged one', async () => {
    const file = put('var/lib/avcare/identity.json', JSON.stringify(identity()));
    chmodSync(file, 0o644);
    expect(await check('enrollment', fakeEnv())).toMatchObject({ status: 'fail', fix: `chmod 600 ${file}` });
    writeFileSync(file, '{"version": 1, "cloudUrl": ');
    expect((await check('enrollment', fakeEnv())).detail).toContain('is not valid JSON; enroll again');
  });
});

describe('runDoctorChecks', () => {
  it('skips the Linux checks on another platform but still checks Node and the config', async () => {
    const checks = await runDoctorChecks(fakeEnv({ platform: 'darwin' }));
    const byId = Object.fromEntries(checks.map((candidate) => [candidate.id, candidate.status]));
    expect(byId['usb-bus']).toBe('skip');
    expect(byId['tool-lsusb']).toBe('skip');
    expect(byId['node-version']).toBe('ok');
    expect(byId.config).toBe('ok');
  });

  it('turns a check that throws into a fail and still runs the others', async () => {
    const checks = await runDoctorChecks(fakeEnv({ which: () => Promise.reject(new Error('PATH exploded')) }));
    expect(checks.find((candidate) => candidate.id === 'tool-amixer')).toMatchObject({ status: 'fail', detail: 'the check itself failed: PATH exploded' });
    expect(checks.find((candidate) => candidate.id === 'udev')?.status).toBe('warn');
  });

  it('gives every check a unique id, a title and a detail', async () => {
    const checks = await runDoctorChecks(fakeEnv());
    expect(new Set(checks.map((candidate) => candidate.id)).size).toBe(checks.length);
    for (const candidate of checks) {
      expect(candidate.title).not.toBe('');
      expect(candidate.detail).not.toBe('');
      if (candidate.status === 'fail' || candidate.status === 'warn') expect(candidate.fix, candidate.id).toBeDefined();
    }
  });

  it('treats a configPath given alone (the CLI\'s --config) as required and checks the rest on this machine', async () => {
    const missing = await runDoctorChecks({ configPath: join(root, 'missing.json') });
    expect(missing.find((candidate) => candidate.id === 'config')).toMatchObject({ status: 'fail' });
    expect(missing.find((candidate) => candidate.id === 'config')?.detail).toContain('cannot read');

    const valid = put('given.json', JSON.stringify({ schoolId: 's9' }));
    const checks = await runDoctorChecks({ configPath: valid });
    expect(checks.find((candidate) => candidate.id === 'config')?.detail).toContain('school s9');
    expect(checks.find((candidate) => candidate.id === 'node-version')?.detail).toContain(process.versions.node);
  });

  it('runs on this machine without throwing and reports its USB bus as it is', async () => {
    const checks = await runDoctorChecks();
    const usb = checks.find((candidate) => candidate.id === 'usb-bus');
    if (existsSync('/sys/bus/usb')) {
      expect(usb?.status).toBe('ok');
    } else {
      expect(['fail', 'warn']).toContain(usb?.status);
      expect(usb?.detail).toContain('no /sys/bus/usb');
    }
    expect(checks.find((candidate) => candidate.id === 'node-version')?.status).toBe('ok');
  });
});

describe('formatDoctorReport and doctorExitCode', () => {
  const checks: DoctorCheck[] = [
    { id: 'a', title: 'Node.js version', status: 'ok', detail: '20.20.2', fix: 'never shown' },
    { id: 'b', title: 'udev', status: 'warn', detail: 'not running', fix: 'start it' },
    { id: 'c', title: 'USB bus', status: 'fail', detail: 'no /sys/bus/usb', fix: 'run on the PC' },
    { id: 'd', title: 'USB device nodes', status: 'skip', detail: 'no bus' },
  ];

  it('prints one aligned line per check, the fix under each problem, and a summary', () => {
    const report = formatDoctorReport(checks);
    const lines = report.trimEnd().split('\n');
    expect(lines).toContain('FAIL  USB bus           no /sys/bus/usb');
    expect(lines).toContain('ok    Node.js version   20.20.2');
    expect(lines[lines.indexOf('FAIL  USB bus           no /sys/bus/usb') + 1]).toBe(`${' '.repeat(24)}fix: run on the PC`);
    expect(report).not.toContain('never shown');
    expect(lines.at(-1)).toBe('1 ok, 1 warn, 1 fail, 1 skip');
  });

  it('exits 1 only when a check failed; warnings alone exit 0', () => {
    expect(doctorExitCode(checks)).toBe(1);
    expect(doctorExitCode(checks.filter((candidate) => candidate.status !== 'fail'))).toBe(0);
  });
});
