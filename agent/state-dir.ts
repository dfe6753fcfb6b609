import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { localStackRunning, readLocalStack, type LocalStack } from '../protocol/local-stack.js';
import type { AgentConfig } from './config.js';
import { currentPlatform, type AgentPlatform } from './platform/platform.js';

/**
 * Where the agent keeps what it learns. The service's definition sets STATE_DIRECTORY (systemd's
 * StateDirectory=, and the Windows and launchd definitions alike); root without it uses the
 * platform's service directory (/var/lib/avcare on Linux); anyone else their own (XDG state folder,
 * %LOCALAPPDATA%, ~/Library/Application Support).
 */
export function resolveStateDir(config: Pick<AgentConfig, 'stateDir'>, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1, platform: AgentPlatform = currentPlatform()): string {
  if (config.stateDir) return config.stateDir;
  const fromService = env.STATE_DIRECTORY?.split(platform.id === 'windows' ? ';' : ':')[0];
  if (fromService) return fromService;
  if (uid === 0) return platform.serviceStateDir;
  return platform.userStateDir(env, homedir());
}

/** Where the agent's state was found, and everywhere that was looked at, to say so when nothing is there. */
export interface LocatedState {
  dir: string;
  /** config: --config's stateDir; environment: STATE_DIRECTORY; installed: this user's default; local-stack: what `npm start` enrolled. */
  via: 'config' | 'environment' | 'installed' | 'local-stack';
  searched: string[];
  /** The `npm start` stack the commands found (and whether it still runs), when they use it. */
  localStack?: LocalStack & { running: boolean };
}

/**
 * The state directory of the agent a PC-side command (`consent`, `doctor`, `test`, `report`,
 * `probe`) is about: the configured or service one; else this user's default when an agent is
 * enrolled there; else the one `npm start` enrolled on this PC. Never used by `run` or `enroll`,
 * which must not take over another stack's identity.
 */
export function locateStateDir(config: Pick<AgentConfig, 'stateDir'>, env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): LocatedState {
  if (config.stateDir) return { dir: config.stateDir, via: 'config', searched: [config.stateDir] };
  const fromSystemd = env.STATE_DIRECTORY?.split(':')[0];
  if (fromSystemd) return { dir: fromSystemd, via: 'environment', searched: [fromSystemd] };
  const installed = resolveStateDir({}, env, uid);
  if (existsSync(join(installed, 'identity.json'))) return { dir: installed, via: 'installed', searched: [installed] };
  const stack = readLocalStack(env);
  if (stack && existsSync(join(stack.stateDir, 'identity.json'))) {
    return { dir: stack.stateDir, via: 'local-stack', searched: [installed, stack.stateDir], localStack: { ...stack, running: localStackRunning(stack) } };
  }
  return { dir: installed, via: 'installed', searched: stack ? [installed, stack.stateDir] : [installed] };
}
