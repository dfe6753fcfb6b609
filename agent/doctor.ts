import { constants, readFileSync, type Dirent } from 'node:fs';
import { access, lstat, readFile, readdir, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { isAvcareError } from '../protocol/index.js';
import { DEFAULT_CONFIG_PATH, loadAgentConfig, parseAgentConfig, type AgentConfig } from './config.js';
import { english, type Translator } from './i18n/i18n.js';
import { checkEnrollment } from './identity/enrollment-check.js';
import { displayWidth, padDisplay } from './text-width.js';
import { locateStateDir, type LocatedState } from './state-dir.js';
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

function checkNodeVersion(env: DoctorEnv, tr: Translator): DoctorCheck {
  const base = { id: 'node-version', title: tr.t('doctor.title.nodeVersion') };
  if (compareVersions(env.nodeVersion, MIN_NODE_VERSION) >= 0) {
    return { ...base, status: 'ok', detail: tr.t('doctor.nodeOk', { version: env.nodeVersion, min: MIN_NODE_VERSION }) };
  }
  return {
    ...base,
    status: 'fail',
    detail: tr.t('doctor.nodeOld', { version: env.nodeVersion, min: MIN_NODE_VERSION }),
    fix: tr.t('doctor.nodeFix', { min: MIN_NODE_VERSION, install: INSTALL_FIX }),
  };
}

async function checkUsbBus(env: DoctorEnv, tr: Translator): Promise<DoctorCheck> {
  const base = { id: 'usb-bus', title: tr.t('doctor.title.usbBus') };
  const devicesDir = join(env.rootDir, 'sys/bus/usb/devices');
  if (!(await exists(join(env.rootDir, 'sys/bus/usb')))) {
    return {
      ...base,
      status: 'fail',
      detail: tr.t('doctor.usbBusMissing'),
      fix: tr.t('doctor.usbBusFix'),
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
  return { ...base, status: 'ok', detail: tr.t('doctor.usbBusOk', { count: devices.length }) };
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

async function checkUsbDeviceAccess(env: DoctorEnv, tr: Translator): Promise<DoctorCheck> {
  const base = { id: 'usb-access', title: tr.t('doctor.title.usbAccess') };
  if (!(await exists(join(env.rootDir, 'sys/bus/usb')))) {
    return { ...base, status: 'skip', detail: tr.t('doctor.usbAccessSkip') };
  }
  const busDir = join(env.rootDir, 'dev/bus/usb');
  if (!(await exists(busDir))) {
    return {
      ...base,
      status: 'warn',
      detail: tr.t('doctor.usbNodesMissing'),
      fix: tr.t('doctor.usbNodesFix'),
    };
  }
  const nodes = await listUsbDeviceNodes(busDir);
  if (env.uid === 0) return { ...base, status: 'ok', detail: tr.t('doctor.usbRoot', { count: nodes.length }) };
  const unreadable: string[] = [];
  let writable = 0;
  for (const node of nodes) {
    if (!(await env.canAccess(node, constants.R_OK))) unreadable.push(node);
    if (await env.canAccess(node, constants.W_OK)) writable += 1;
  }
  const ruleFix = tr.t('doctor.usbRuleFix', { install: INSTALL_FIX, rule: UDEV_RULE_PATH, user: SERVICE_USER });
  if (unreadable.length > 0) {
    const shown = unreadable.slice(0, 3).map((node) => `/${relative(env.rootDir, node)}`);
    return {
      ...base,
      status: 'warn',
      detail: tr.t('doctor.usbUnreadable', { unreadable: unreadable.length, count: nodes.length, user: env.userName, examples: `${shown.join(', ')}${unreadable.length > shown.length ? ', ...' : ''}` }),
      fix: ruleFix,
    };
  }
  if (!(await exists(join(env.rootDir, UDEV_RULE_PATH)))) {
    return {
      ...base,
      status: 'warn',
      detail: tr.t('doctor.usbNoRule'),
      fix: ruleFix,
    };
  }
  return {
    ...base,
    status: 'ok',
    detail: tr.t('doctor.usbOk', { count: nodes.length, writable, user: env.userName, group: SERVICE_USER }),
  };
}

function checkSerialAccess(env: DoctorEnv, config: AgentConfig | undefined, tr: Translator): DoctorCheck {
  const base = { id: 'serial-access', title: tr.t('doctor.title.serialAccess') };
  if (env.uid === 0) return { ...base, status: 'ok', detail: tr.t('doctor.root') };
  if (env.groups.includes('dialout')) return { ...base, status: 'ok', detail: tr.t('doctor.inDialout', { user: env.userName }) };
  const configured = config?.serialPorts.length ?? 0;
  const fix =
    env.userName === SERVICE_USER
      ? `sudo usermod -aG dialout ${SERVICE_USER} && sudo systemctl restart avcare-agent`
      : tr.t('doctor.serialFixUser', { user: env.userName, install: INSTALL_FIX });
  return {
    ...base,
    // Only a room with configured VISCA ports loses anything today.
    status: configured > 0 ? 'fail' : 'warn',
    detail: configured > 0 ? tr.t('doctor.notInDialoutConfigured', { user: env.userName, count: configured }) : tr.t('doctor.notInDialout', { user: env.userName }),
    fix,
  };
}

async function checkServiceUser(env: DoctorEnv, located: LocatedState, tr: Translator): Promise<DoctorCheck> {
  const base = { id: 'service-user', title: tr.t('doctor.title.serviceUser', { user: SERVICE_USER }) };
  let passwd: string;
  let groupText: string;
  try {
    [passwd, groupText] = await Promise.all([readFile(join(env.rootDir, 'etc/passwd'), 'utf8'), readFile(join(env.rootDir, 'etc/group'), 'utf8')]);
  } catch (error) {
    if (!isMissing(error)) throw error;
    return { ...base, status: 'skip', detail: tr.t('doctor.noPasswd') };
  }
  const entry = passwd.split('\n').find((line) => line.startsWith(`${SERVICE_USER}:`));
  if (!entry) {
    // Trying avcare with `npm start` needs no service user: saying "not installed" there is a warning about nothing.
    if (located.via === 'local-stack') return { ...base, status: 'ok', detail: tr.t('doctor.localStackService', { dir: located.dir, user: SERVICE_USER }) };
    return { ...base, status: 'warn', detail: tr.t('doctor.noServiceUser', { user: SERVICE_USER }), fix: INSTALL_FIX };
  }
  const primaryGid = Number(entry.split(':')[3]);
  const groups = parseGroupFile(groupText);
  const missing = SERVICE_GROUPS.filter((name) => {
    const group = groups.find((candidate) => candidate.name === name);
    return group !== undefined && group.gid !== primaryGid && !group.members.includes(SERVICE_USER);
  });
  if (missing.length === 0) return { ...base, status: 'ok', detail: tr.t('doctor.serviceUserOk', { user: SERVICE_USER, groups: SERVICE_GROUPS.join(', ') }) };
  return {
    ...base,
    status: 'warn',
    detail: tr.t('doctor.serviceUserGroups', { user: SERVICE_USER, groups: missing.join(', '), what: missing.map((group) => tr.t(`doctor.groupPurpose.${group}`)).join(', ') }),
    fix: `sudo usermod -aG ${missing.join(',')} ${SERVICE_USER} && sudo systemctl restart avcare-agent`,
  };
}

async function checkUdev(env: DoctorEnv, tr: Translator): Promise<DoctorCheck> {
  const base = { id: 'udev', title: tr.t('doctor.title.udev') };
  if (await exists(join(env.rootDir, 'run/udev/control'))) {
    return { ...base, status: 'ok', detail: tr.t('doctor.udevOk') };
  }
  return {
    ...base,
    status: 'warn',
    detail: tr.t('doctor.udevMissing'),
    fix: tr.t('doctor.udevFix'),
  };
}

interface ToolSpec {
  command: 'lsusb' | 'amixer' | 'v4l2-ctl';
  packageName: string;
}

/** What is lost without each tool is in the catalogs (doctor.toolPurpose). */
const TOOLS: readonly ToolSpec[] = [
  { command: 'lsusb', packageName: 'usbutils' },
  { command: 'amixer', packageName: 'alsa-utils' },
  { command: 'v4l2-ctl', packageName: 'v4l-utils' },
];

const toolId = (tool: ToolSpec): string => `tool-${tool.command}`;
const toolTitle = (tool: ToolSpec, tr: Translator): string => tr.t('doctor.title.tool', { command: tool.command, package: tool.packageName });

async function checkTool(env: DoctorEnv, tool: ToolSpec, tr: Translator): Promise<DoctorCheck> {
  const base = { id: toolId(tool), title: toolTitle(tool, tr) };
  const found = await env.which(tool.command);
  if (found) return { ...base, status: 'ok', detail: found };
  const detail = tr.t('doctor.toolMissing', { command: tool.command, purpose: tr.t(`doctor.toolPurpose.${tool.command}`) });
  return { ...base, status: 'warn', detail, fix: `sudo apt-get install ${tool.packageName}` };
}

async function checkUsbIds(env: DoctorEnv, tr: Translator): Promise<DoctorCheck> {
  const base = { id: 'usb-ids', title: tr.t('doctor.title.usbIds') };
  for (const path of USB_IDS_PATHS) {
    if (await exists(join(env.rootDir, path))) return { ...base, status: 'ok', detail: path };
  }
  return {
    ...base,
    status: 'warn',
    detail: tr.t('doctor.usbIdsMissing', { paths: USB_IDS_PATHS.join(', ') }),
    fix: tr.t('doctor.usbIdsFix'),
  };
}

async function checkConfig(env: DoctorEnv, tr: Translator): Promise<{ check: DoctorCheck; config: AgentConfig | undefined }> {
  const base = { id: 'config', title: tr.t('doctor.title.config') };
  if (!env.configRequired && !(await exists(env.configPath))) {
    const config = parseAgentConfig({}, 'default configuration');
    return { check: { ...base, status: 'ok', detail: tr.t('doctor.configDefault', { path: env.configPath, school: config.schoolId }) }, config };
  }
  try {
    const config = loadAgentConfig(env.configPath);
    return { check: { ...base, status: 'ok', detail: tr.t('doctor.configValid', { path: env.configPath, school: config.schoolId, room: config.roomId }) }, config };
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

async function checkStateDir(env: DoctorEnv, located: LocatedState, tr: Translator): Promise<DoctorCheck> {
  const base = { id: 'state-dir', title: tr.t('doctor.title.stateDir') };
  const dir = located.dir;
  const fix = tr.t('doctor.stateFix', { user: SERVICE_USER, dir, install: INSTALL_FIX });
  if (await exists(dir)) {
    if (!(await stat(dir)).isDirectory()) return { ...base, status: 'fail', detail: tr.t('doctor.stateNotDir', { dir }), fix };
    if (await env.canAccess(dir, constants.W_OK | constants.X_OK)) return { ...base, status: 'ok', detail: tr.t('doctor.stateWritable', { dir, user: env.userName }) };
    return { ...base, status: 'fail', detail: tr.t('doctor.stateNotWritable', { dir, user: env.userName }), fix };
  }
  const ancestor = await nearestExistingAncestor(dirname(dir));
  if (await env.canAccess(ancestor, constants.W_OK | constants.X_OK)) {
    return { ...base, status: 'ok', detail: tr.t('doctor.stateCreatable', { dir, user: env.userName }) };
  }
  return { ...base, status: 'fail', detail: tr.t('doctor.stateCannotCreate', { dir, user: env.userName, ancestor }), fix };
}

// --- running and reporting -----------------------------------------------------------------------

/** One check that throws must not hide the others: it becomes a 'fail' naming the error. */
async function guarded(tr: Translator, id: string, title: string, run: () => DoctorCheck | Promise<DoctorCheck>): Promise<DoctorCheck> {
  try {
    return await run();
  } catch (error) {
    return {
      id,
      title,
      status: 'fail',
      detail: tr.t('doctor.checkFailed', { error: error instanceof Error ? error.message : String(error) }),
      fix: tr.t('doctor.checkFailedFix'),
    };
  }
}

function linuxOnly(env: DoctorEnv, tr: Translator, id: string, title: string, run: () => DoctorCheck | Promise<DoctorCheck>): Promise<DoctorCheck> {
  if (env.platform !== 'linux') return Promise.resolve({ id, title, status: 'skip', detail: tr.t('doctor.notLinux', { platform: env.platform }) });
  return guarded(tr, id, title, run);
}

/** Any part of DoctorEnv; an undefined value (an option the user left out) keeps the real machine's. */
export type DoctorEnvOverrides = { [Key in keyof DoctorEnv]?: DoctorEnv[Key] | undefined };

function resolveDoctorEnv(overrides: DoctorEnvOverrides): DoctorEnv {
  const machine = defaultDoctorEnv(overrides.configPath === undefined ? {} : { configPath: overrides.configPath });
  const given = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined)) as Partial<DoctorEnv>;
  return { ...machine, ...given };
}

/**
 * Every check, its words in `tr`'s language: English for `doctor --json` (language-neutral
 * output), the reader's language for the table.
 */
export async function runDoctorChecks(overrides: DoctorEnvOverrides = {}, tr: Translator = english): Promise<DoctorCheck[]> {
  const env = resolveDoctorEnv(overrides);
  const title = (key: 'nodeVersion' | 'usbBus' | 'usbAccess' | 'serialAccess' | 'udev' | 'usbIds' | 'config' | 'stateDir' | 'enrollment'): string => tr.t(`doctor.title.${key}`);
  let config: AgentConfig | undefined;
  const configCheck = await guarded(tr, 'config', title('config'), async () => {
    const result = await checkConfig(env, tr);
    config = result.config;
    return result.check;
  });
  // The agent the checks are about: configured, the service's, or the one `npm start` enrolled.
  const located = (): LocatedState => locateStateDir(config ?? {}, env.environment, env.uid);
  return [
    await guarded(tr, 'node-version', title('nodeVersion'), () => checkNodeVersion(env, tr)),
    await linuxOnly(env, tr, 'usb-bus', title('usbBus'), () => checkUsbBus(env, tr)),
    await linuxOnly(env, tr, 'usb-access', title('usbAccess'), () => checkUsbDeviceAccess(env, tr)),
    await linuxOnly(env, tr, 'serial-access', title('serialAccess'), () => checkSerialAccess(env, config, tr)),
    await linuxOnly(env, tr, 'service-user', tr.t('doctor.title.serviceUser', { user: SERVICE_USER }), () => checkServiceUser(env, located(), tr)),
    await linuxOnly(env, tr, 'udev', title('udev'), () => checkUdev(env, tr)),
    ...(await Promise.all(TOOLS.map((tool) => linuxOnly(env, tr, toolId(tool), toolTitle(tool, tr), () => checkTool(env, tool, tr))))),
    await linuxOnly(env, tr, 'usb-ids', title('usbIds'), () => checkUsbIds(env, tr)),
    configCheck,
    await guarded(tr, 'state-dir', title('stateDir'), () => checkStateDir(env, located(), tr)),
    await guarded(tr, 'enrollment', title('enrollment'), () => checkEnrollment(located(), tr)),
  ];
}

/** A plain-text table: one line per check, its fix on the next line, a summary at the end. */
export function formatDoctorReport(checks: readonly DoctorCheck[], tr: Translator = english): string {
  const status = (check: DoctorCheck): string => tr.t(`doctor.status.${check.status}`);
  const statusWidth = Math.max(4, ...checks.map((check) => displayWidth(status(check))));
  const titleWidth = Math.max(5, displayWidth(tr.t('table.check')), ...checks.map((check) => displayWidth(check.title)));
  const indent = ' '.repeat(statusWidth + 2 + titleWidth + 2);
  const lines = [`${''.padEnd(statusWidth)}  ${padDisplay(tr.t('table.check'), titleWidth)}  ${tr.t('table.detail')}`];
  for (const check of checks) {
    lines.push(`${padDisplay(status(check), statusWidth)}  ${padDisplay(check.title, titleWidth)}  ${check.detail}`);
    if (check.fix && check.status !== 'ok') lines.push(`${indent}${tr.t('doctor.fix', { fix: check.fix })}`);
  }
  const count = (wanted: DoctorStatus): number => checks.filter((check) => check.status === wanted).length;
  lines.push('', tr.t('doctor.summary', { ok: count('ok'), warn: count('warn'), fail: count('fail'), skip: count('skip') }));
  return `${lines.join('\n')}\n`;
}

/** 0 when nothing failed: warnings alone do not make `avcare-agent doctor` fail. */
export function doctorExitCode(checks: readonly DoctorCheck[]): number {
  return checks.some((check) => check.status === 'fail') ? 1 : 0;
}
