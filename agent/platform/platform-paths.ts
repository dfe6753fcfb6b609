/**
 * Where the installed service keeps its configuration and state on each platform, and how a
 * person restarts it: plain values, so the configuration loader can ask for them without loading
 * the platforms' probes.
 */
import { posix, win32 } from 'node:path';

export interface PlatformPaths {
  /** The installed service's state directory: identity, outbox, learned devices, the ADB key. */
  serviceStateDir: string;
  serviceConfigFile: string;
  /** What a person types to restart the installed service (after enrolling, after a config change). */
  restartCommand: string;
  /** Windows: the requests waiting for an answer, readable by every person at the PC (install.ps1's ACL). */
  noticeBoardFile?: string;
}

const programData = process.env.ProgramData ?? 'C:\\ProgramData';
const MACOS_STATE_DIR = '/Library/Application Support/avcare';

export const LINUX_PATHS: PlatformPaths = {
  serviceStateDir: '/var/lib/avcare',
  serviceConfigFile: '/etc/avcare/agent.json',
  restartCommand: 'sudo systemctl restart avcare-agent',
};

export const WINDOWS_PATHS: PlatformPaths = {
  serviceStateDir: win32.join(programData, 'avcare'),
  serviceConfigFile: win32.join(programData, 'avcare', 'agent.json'),
  restartCommand: 'Restart-Service avcare-agent (PowerShell as administrator)',
  noticeBoardFile: win32.join(programData, 'avcare-notices', 'requests.json'),
};

export const MACOS_PATHS: PlatformPaths = {
  serviceStateDir: MACOS_STATE_DIR,
  serviceConfigFile: posix.join(MACOS_STATE_DIR, 'agent.json'),
  restartCommand: 'sudo launchctl kickstart -k system/cn.avcare.agent',
};

export function pathsFor(platform: NodeJS.Platform): PlatformPaths {
  if (platform === 'win32') return WINDOWS_PATHS;
  if (platform === 'darwin') return MACOS_PATHS;
  return LINUX_PATHS;
}

/** This PC's. */
export const PLATFORM_PATHS: PlatformPaths = pathsFor(process.platform);
