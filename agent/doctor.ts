import { constants, readFileSync, type Dirent } from 'node:fs';
import { access, lstat, readFile, readdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { isAvcareError } from '../protocol/index.js';
import { DEFAULT_CONFIG_PATH, loadAgentConfig, parseAgentConfig, type AgentConfig } from './config.js';
import { checkEnrollment } from './identity/enrollment-check.js';
import { resolveStateDir } from './state-dir.js';
// The same list the USB probe reads names from, so doctor checks what the probe will find.
import { USB_IDS_PATHS } from './probes/usb-ids.js';

/** package.json "engines"; install.sh holds the same number. */
export const MIN_NODE_VERSION = '20.19.0';

export const SERVICE_USER = 'avcare';
export const UDEV_RULE_PATH = '/etc/udev/rules.d/60-avcare.rules';
/** Groups the service user needs: serial adapters, cameras, sound cards. */
const SERVICE_GROUPS = ['dialout', 'video', 'audio'] as const;
const INSTALL_FIX = 'sudo bash install.sh';

export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  id: string;
  title: string;
  status: DoctorStatus;
  detail: string;
  fix?: string;
}

/** Everything the checks read from the machine, so tests can run them on a fake one. */
export interface DoctorEnv {
  /** Prefix for system paths (/sys, /dev, /run, /etc, /usr/share): '/' on a real PC. */
  rootDir: string;
  platform: NodeJS.Platform;
  nodeVersion: string;
  uid: number;
  userName: string;
  /** Names of the groups this process runs with. */
  groups: readonly string[];
  which(command: string): Promise<string | undefined>;
  /** access(2) for this user; injectable because a fake uid cannot change what the kernel allows. */
  canAccess(path: string, mode: number): Promise<boolean>;
  /** The configuration file to check. */
  configPath: string;
  /** True for an explicit path (--config or AVCARE_CONFIG): then the file must exist. */
  configRequired: boolean;
  /** Environment for the state directory (STATE_DIRECTORY, XDG_STATE_HOME). */
  environment: NodeJS.ProcessEnv;
}

// --- the real machine ----------------------------------------------------------------------------

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

async function canAccess(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || isMissing(error)) return false;
    throw error;
  }
}

/** Looks a command up on PATH without running anything. */
export async function whichOnPath(command: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, command);
    try {
      if ((await stat(candidate)).isFile() && (await canAccess(candidate, constants.X_OK))) return candidate;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return undefined;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseGroupFile(text: string): GroupEntry[] {
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 4 && fields[0])
    .map(([name = '', , gid = '', members = '']) => ({ name, gid: Number(gid), members: members.split(',').filter(Boolean) }));
}

function currentGroupNames(groupFile: string): string[] {
  let text: string;
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
  const gids = new Set(process.getgroups?.() ?? []);
  if (process.getegid) gids.add(process.getegid());
  return parseGroupFile(text)
    .filter((group) => gids.has(group.gid))
    .map((group) => group.name);
}

function currentUserName(uid: number, environment: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch (error) {
    // A container can run as a uid with no /etc/passwd entry: libuv then reports ENOENT.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_SYSTEM_ERROR') throw error;
    return environment.USER ?? `uid ${uid}`;
  }
}

/** The machine this process runs on; `configPath` is the CLI's --config. */
export function defaultDoctorEnv(options: { configPath?: string } = {}): DoctorEnv {
  const environment = process.env;
  const uid = process.getuid?.() ?? -1;
  return {
    rootDir: '/',
    platform: process.platform,
    nodeVersion: process.versions.node,
    uid,
    userName: currentUserName(uid, environment),
    groups: currentGroupNames('/etc/group'),
    which: (command) => whichOnPath(command, environment.PATH ?? ''),
    canAccess,
    configPath: options.configPath ?? (environment.AVCARE_CONFIG || undefined) ?? DEFAULT_CONFIG_PATH,
    configRequired: options.configPath !== undefined || Boolean(environment.AVCARE_CONFIG),
    environment,
  };
}

// --- checks --------------------------------------------------------------------------------------

function compareVersions(a: string, b: string): number {
  const parse = (version: string) => version.replace(/^v/, '').split(/[.-]/).slice(0, 3).map((part) => Number.parseInt(part, 10) || 0);
  const [left, right] = [parse(a), parse(b)];
  for (let index = 0; index < 3; index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function checkNodeVersion(env: DoctorEnv): DoctorCheck {
  const base = { id: 'node-version', title: 'Node.js version' };
  if (compareVersions(env.nodeVersion, MIN_NODE_VERSION) >= 0) {
    return { ...base, status: 'ok', detail: `${env.nodeVersion} (needs >= ${MIN_NODE_VERSION})` };
  }
  return {
    ...base,
    status: 'fail',
    detail: `${env.nodeVersion} is older than ${MIN_NODE_VERSION}`,
    fix: `install Node.js ${MIN_NODE_VERSION} or newer (${INSTALL_FIX} offers the distribution's nodejs package; else https://github.com/nodesource/distributions)`,
  };
}

async function checkUsbBus(env: DoctorEnv): Promise<DoctorCheck> {
  const base = { id: 'usb-bus', title: 'USB bus' };
  const devicesDir = join(env.rootDir, 'sys/bus/usb/devices');
  if (!(await exists(join(env.rootDir, 'sys/bus/usb')))) {
    return {
      ...base,
      status: 'fail',
      detail: 'no /sys/bus/usb: this system exposes no USB bus, so USB cameras, microphones and headsets cannot be seen (a container or VM without USB passthrough?)',
      fix: 'run the agent on the classroom PC itself, or pass the USB controller through to the VM or container',
    };
  }
  let entries: string[] = [];
  try {
    entries = await readdir(devicesDir);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  // Interfaces are listed beside devices as "1-1:1.0"; count devices only.
  const devices = entries.filter((name) => !name.includes(':'));
  return { ...base, status: 'ok', detail: `${devices.length} USB devices in /sys/bus/usb/devices (root hubs included)` };
}

async function listUsbDeviceNodes(busDir: string): Promise<string[]> {
  const nodes: string[] = [];
  const buses: Dirent[] = await readdir(busDir, { withFileTypes: true });
  for (const bus of buses.filter((entry) => entry.isDirectory())) {
    const devices = await readdir(join(busDir, bus.name));
    nodes.push(...devices.map((device) => join(busDir, bus.name, device)));
  }
  return nodes.sort();
}

async function checkUsbDeviceAccess(env: DoctorEnv): Promise<DoctorCheck> {
  const base = { id: 'usb-access', title: 'USB device nodes' };
  if (!(await exists(join(env.rootDir, 'sys/bus/usb')))) {
    return { ...base, status: 'skip', detail: 'no /sys/bus/usb, so no device nodes to open' };
  }
  const busDir = join(env.rootDir, 'dev/bus/usb');
  if (!(await exists(busDir))) {
    return {
      ...base,
      status: 'warn',
      detail: 'no /dev/bus/usb: libusb cannot open devices to read their names and serial numbers',
      fix: 'in a container, pass the nodes in (e.g. docker run --device /dev/bus/usb); on a PC, check that udev and devtmpfs are running',
    };
  }
  const nodes = await listUsbDeviceNodes(busDir);
  if (env.uid === 0) return { ...base, status: 'ok', detail: `running as root: all ${nodes.length} device nodes can be opened` };
  const unreadable: string[] = [];
  let writable = 0;
  for (const node of nodes) {
    if (!(await env.canAccess(node, constants.R_OK))) unreadable.push(node);
    if (await env.canAccess(node, constants.W_OK)) writable += 1;
  }
  const ruleFix = `${INSTALL_FIX} (installs the udev rule ${UDEV_RULE_PATH}) and run the agent as its service user ${SERVICE_USER}`;
  if (unreadable.length > 0) {
    const shown = unreadable.slice(0, 3).map((node) => `/${relative(env.rootDir, node)}`);
    return {
      ...base,
      status: 'warn',
      detail: `${unreadable.length} of ${nodes.length} device nodes are not readable by ${env.userName} (${shown.join(', ')}${unreadable.length > shown.length ? ', ...' : ''})`,
      fix: ruleFix,
    };
  }
  if (!(await exists(join(env.rootDir, UDEV_RULE_PATH)))) {
    return {
      ...base,
      status: 'warn',
      detail: `the avcare udev rule is not installed: without it only root can open cameras and headsets to read their names and serial numbers`,
      fix: ruleFix,
    };
  }
  return {
    ...base,
    status: 'ok',
    detail: `${nodes.length} device nodes readable, ${writable} writable by ${env.userName} (the udev rule gives group ${SERVICE_USER} write access to AV devices only)`,
  };
}

function checkSerialAccess(env: DoctorEnv, config: AgentConfig | undefined): DoctorCheck {
  const base = { id: 'serial-access', title: 'Serial ports (dialout)' };
  if (env.uid === 0) return { ...base, status: 'ok', detail: 'running as root' };
  if (env.groups.includes('dialout')) return { ...base, status: 'ok', detail: `${env.userName} is in group dialout` };
  const configured = config?.serialPorts.length ?? 0;
  const fix =
    env.userName === SERVICE_USER
      ? `sudo usermod -aG dialout ${SERVICE_USER} && sudo systemctl restart avcare-agent`
      : `sudo usermod -aG dialout ${env.userName}, then log out and in again (the service user is set up by ${INSTALL_FIX})`;
  return {
    ...base,
    // Only a room with configured VISCA ports loses anything today.
    status: configured > 0 ? 'fail' : 'warn',
    detail: `${env.userName} is not in group dialout, so serial ports cannot be opened${configured > 0 ? ` (${configured} configured)` : ''}`,
    fix,
  };
}

async function checkServiceUser(env: DoctorEnv): Promise<DoctorCheck> {
  const base = { id: 'service-user', title: `Service user ${SERVICE_USER}` };
  let passwd: string;
  let groupText: string;
  try {
    [passwd, groupText] = await Promise.all([readFile(join(env.rootDir, 'etc/passwd'), 'utf8'), readFile(join(env.rootDir, 'etc/group'), 'utf8')]);
  } catch (error) {
    if (!isMissing(error)) throw error;
    return { ...base, status: 'skip', detail: 'no /etc/passwd or /etc/group to read' };
  }
  const entry = passwd.split('\n').find((line) => line.startsWith(`${SERVICE_USER}:`));
  if (!entry) {
    return { ...base, status: 'warn', detail: `no ${SERVICE_USER} system user: the agent is not installed as a service`, fix: INSTALL_FIX };
  }
  const primaryGid = Number(entry.split(':')[3]);
  const groups = parseGroupFile(groupText);
  const missing = SERVICE_GROUPS.filter((name) => {
    const group = groups.find((candidate) => candidate.name === name);
    return group !== undefined && group.gid !== primaryGid && !group.members.includes(SERVICE_USER);
  });
  if (missing.length === 0) return { ...base, status: 'ok', detail: `${SERVICE_USER} exists and is in the groups it needs (${SERVICE_GROUPS.join(', ')} where present)` };
  return {
    ...base,
    status: 'warn',
    detail: `${SERVICE_USER} is not in group ${missing.join(', ')}: the service cannot open ${missing.map(describeGroup).join(', ')}`,
    fix: `sudo usermod -aG ${missing.join(',')} ${SERVICE_USER} && sudo systemctl restart avcare-agent`,
  };
}

function describeGroup(group: string): string {
  if (group === 'dialout') return 'serial ports';
  if (group === 'video') return 'cameras';
  return 'sound devices';
}

async function checkUdev(env: DoctorEnv): Promise<DoctorCheck> {
  const base = { id: 'udev', title: 'udev (hotplug)' };
  if (await exists(join(env.rootDir, 'run/udev/control'))) {
    return { ...base, status: 'ok', detail: 'udevd is running: plugged and unplugged devices are seen at once' };
  }
  return {
    ...base,
    status: 'warn',
    detail: 'udev is not running (no /run/udev/control): hotplug falls back to polling, so a device change shows up one poll later',
    fix: 'on a classroom PC: sudo systemctl start systemd-udevd; in a container this is expected',
  };
}

interface ToolSpec {
  command: string;
  packageName: string;
  purpose: string;
}

const TOOLS: readonly ToolSpec[] = [
  { command: 'lsusb', packageName: 'usbutils', purpose: '`lsusb -v`, which support asks for and `probe --replay` reads, is unavailable' },
  { command: 'amixer', packageName: 'alsa-utils', purpose: 'microphone mute switches cannot be read' },
  { command: 'v4l2-ctl', packageName: 'v4l-utils', purpose: 'camera capabilities cannot be queried (the probe falls back to sysfs)' },
];

const toolId = (tool: ToolSpec): string => `tool-${tool.command}`;
const toolTitle = (tool: ToolSpec): string => `${tool.command} (${tool.packageName})`;

async function checkTool(env: DoctorEnv, tool: ToolSpec): Promise<DoctorCheck> {
  const base = { id: toolId(tool), title: toolTitle(tool) };
  const found = await env.which(tool.command);
  if (found) return { ...base, status: 'ok', detail: found };
  return { ...base, status: 'warn', detail: `${tool.command} is not installed: ${tool.purpose}`, fix: `sudo apt-get install ${tool.packageName}` };
}

async function checkUsbIds(env: DoctorEnv): Promise<DoctorCheck> {
  const base = { id: 'usb-ids', title: 'usb.ids database' };
  for (const path of USB_IDS_PATHS) {
    if (await exists(join(env.rootDir, path))) return { ...base, status: 'ok', detail: path };
  }
  return {
    ...base,
    status: 'warn',
    detail: `no usb.ids in ${USB_IDS_PATHS.join(', ')}: vendor and product names show as numbers`,
    fix: 'sudo apt-get install usb.ids (Debian 12, Ubuntu 22.04 and later; older releases: usbutils)',
  };
}

async function checkConfig(env: DoctorEnv): Promise<{ check: DoctorCheck; config: AgentConfig | undefined }> {
  const base = { id: 'config', title: 'Configuration' };
  if (!env.configRequired && !(await exists(env.configPath))) {
    const config = parseAgentConfig({}, 'default configuration');
    return { check: { ...base, status: 'ok', detail: `no ${env.configPath}: built-in defaults are used (schoolId "${config.schoolId}")` }, config };
  }
  try {
    const config = loadAgentConfig(env.configPath);
    return { check: { ...base, status: 'ok', detail: `${env.configPath} is valid (school ${config.schoolId}, room ${config.roomId})` }, config };
  } catch (error) {
    if (!isAvcareError(error)) throw error;
    return { check: { ...base, status: 'fail', detail: error.message, fix: `${error.hint} (${env.configPath})` }, config: undefined };
  }
}

async function nearestExistingAncestor(path: string): Promise<string> {
  let current = path;
  while (!(await exists(current))) {
    const parent = dirname(current);
    if (parent === current) return current;
    current = parent;
  }
  return current;
}

async function checkStateDir(env: DoctorEnv, config: AgentConfig | undefined): Promise<DoctorCheck> {
  const base = { id: 'state-dir', title: 'State directory' };
  const dir = resolveStateDir(config ?? {}, env.environment, env.uid);
  const fix = `sudo install -d -o ${SERVICE_USER} -g ${SERVICE_USER} -m 0750 ${dir} (${INSTALL_FIX} does this for /var/lib/avcare)`;
  if (await exists(dir)) {
    if (!(await stat(dir)).isDirectory()) return { ...base, status: 'fail', detail: `${dir} exists but is not a directory`, fix };
    if (await env.canAccess(dir, constants.W_OK | constants.X_OK)) return { ...base, status: 'ok', detail: `${dir} is writable by ${env.userName}` };
    return { ...base, status: 'fail', detail: `${dir} is not writable by ${env.userName}: learned devices cannot be saved`, fix };
  }
  const ancestor = await nearestExistingAncestor(dirname(dir));
  if (await env.canAccess(ancestor, constants.W_OK | constants.X_OK)) {
    return { ...base, status: 'ok', detail: `${dir} does not exist yet; ${env.userName} can create it` };
  }
  return { ...base, status: 'fail', detail: `${dir} does not exist and ${env.userName} cannot create it in ${ancestor}`, fix };
}

// --- running and reporting -----------------------------------------------------------------------

/** One check that throws must not hide the others: it becomes a 'fail' naming the error. */
async function guarded(id: string, title: string, run: () => DoctorCheck | Promise<DoctorCheck>): Promise<DoctorCheck> {
  try {
    return await run();
  } catch (error) {
    return {
      id,
      title,
      status: 'fail',
      detail: `the check itself failed: ${error instanceof Error ? error.message : String(error)}`,
      fix: 'send this report to avcare support',
    };
  }
}

function linuxOnly(env: DoctorEnv, id: string, title: string, run: () => DoctorCheck | Promise<DoctorCheck>): Promise<DoctorCheck> {
  if (env.platform !== 'linux') return Promise.resolve({ id, title, status: 'skip', detail: `not Linux (${env.platform})` });
  return guarded(id, title, run);
}

/** Any part of DoctorEnv; an undefined value (an option the user left out) keeps the real machine's. */
export type DoctorEnvOverrides = { [Key in keyof DoctorEnv]?: DoctorEnv[Key] | undefined };

function resolveDoctorEnv(overrides: DoctorEnvOverrides): DoctorEnv {
  const machine = defaultDoctorEnv(overrides.configPath === undefined ? {} : { configPath: overrides.configPath });
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Partial<DoctorEnv>;
  return { ...machine, ...given };
}

export async function runDoctorChecks(overrides: DoctorEnvOverrides = {}): Promise<DoctorCheck[]> {
  const env = resolveDoctorEnv(overrides);
  let config: AgentConfig | undefined;
  const configCheck = await guarded('config', 'Configuration', async () => {
    const result = await checkConfig(env);
    config = result.config;
    return result.check;
  });
  return [
    await guarded('node-version', 'Node.js version', () => checkNodeVersion(env)),
    await linuxOnly(env, 'usb-bus', 'USB bus', () => checkUsbBus(env)),
    await linuxOnly(env, 'usb-access', 'USB device nodes', () => checkUsbDeviceAccess(env)),
    await linuxOnly(env, 'serial-access', 'Serial ports (dialout)', () => checkSerialAccess(env, config)),
    await linuxOnly(env, 'service-user', `Service user ${SERVICE_USER}`, () => checkServiceUser(env)),
    await linuxOnly(env, 'udev', 'udev (hotplug)', () => checkUdev(env)),
    ...(await Promise.all(TOOLS.map((tool) => linuxOnly(env, toolId(tool), toolTitle(tool), () => checkTool(env, tool))))),
    await linuxOnly(env, 'usb-ids', 'usb.ids database', () => checkUsbIds(env)),
    configCheck,
    await guarded('state-dir', 'State directory', () => checkStateDir(env, config)),
    await guarded('enrollment', 'Enrollment', () => checkEnrollment(resolveStateDir(config ?? {}, env.environment, env.uid))),
  ];
}

const STATUS_LABELS: Record<DoctorStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** A plain-text table: one line per check, its fix on the next line, a summary at the end. */
export function formatDoctorReport(checks: readonly DoctorCheck[]): string {
  const titleWidth = Math.max(5, ...checks.map((check) => check.title.length));
  const indent = ' '.repeat(4 + 2 + titleWidth + 2);
  const lines = [`${''.padEnd(4)}  ${'CHECK'.padEnd(titleWidth)}  DETAIL`];
  for (const check of checks) {
    lines.push(`${STATUS_LABELS[check.status].padEnd(4)}  ${check.title.padEnd(titleWidth)}  ${check.detail}`);
    if (check.fix && check.status !== 'ok') lines.push(`${indent}fix: ${check.fix}`);
  }
  const counts = (['ok', 'warn', 'fail', 'skip'] as const).map((status) => `${checks.filter((check) => check.status === status).length} ${status}`);
  lines.push('', counts.join(', '));
  return `${lines.join('\n')}\n`;
}

/** 0 when nothing failed: warnings alone do not make `avcare-agent doctor` fail. */
export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  return checks.some((check) => check.status === 'fail') ? 1 : 0;
}
