/**
 * What differs between the PCs the agent runs on, behind one interface chosen at start: where the
 * installed service keeps its state and configuration, how the control channel is addressed, and
 * the service definition the installer writes. Code above it asks the platform, never
 * `process.platform`.
 */
import { linuxPlatform } from './linux/linux-platform.js';
import { macosPlatform } from './macos/macos-platform.js';
import { windowsPlatform } from './windows/windows-platform.js';

export type { AgentPlatform, PlatformId, ServiceDefinition, ServiceOptions } from './platform-types.js';
import type { AgentPlatform } from './platform-types.js';

let current: AgentPlatform | undefined;

/** This PC's platform, chosen once at start. */
export function currentPlatform(): AgentPlatform {
  current ??= platformFor(process.platform);
  return current;
}

export function platformFor(platform: NodeJS.Platform): AgentPlatform {
  switch (platform) {
    case 'win32':
      return windowsPlatform;
    case 'darwin':
      return macosPlatform;
    default:
      // Linux and the BSDs: sysfs where there is one, the same paths where there is not.
      return linuxPlatform;
  }
}
