import { posix } from 'node:path';
import { MACOS_PATHS } from '../platform-paths.js';
import type { AgentPlatform, ServiceOptions } from '../platform-types.js';
import { xmlText } from '../service-xml.js';
import { lazyProbe } from '../../probes/lazy-probe.js';

const SERVICE_STATE_DIR = MACOS_PATHS.serviceStateDir;
const LABEL = 'cn.avcare.agent';
const WATCH_LABEL = 'cn.avcare.consent-watch';
const string = (value: string): string => `<string>${xmlText(value)}</string>`;

/**
 * A launchd property list: its label, the program and arguments, the agent's configuration and
 * state in the environment, and the keys particular to the job (already formatted, one tab in).
 */
function plist(label: string, args: readonly string[], environment: Readonly<Record<string, string>>, keys: string): string {
  const program = args.map((arg) => `\t\t${string(arg)}`).join('\n');
  const env = Object.entries({ AVCARE_CONFIG: macosPlatform.serviceConfigFile, STATE_DIRECTORY: SERVICE_STATE_DIR, ...environment })
    .map(([key, value]) => `\t\t<key>${key}</key>\n\t\t${string(value)}`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Installed by avcare install-macos.sh: rewritten on upgrade, removed when it uninstalls (XML comments cannot hold a double hyphen). -->
<plist version="1.0">
<dict>
\t<key>Label</key>
\t${string(label)}
\t<key>ProgramArguments</key>
\t<array>
${program}
\t</array>
\t<key>EnvironmentVariables</key>
\t<dict>
${env}
\t</dict>
${keys}
</dict>
</plist>
`;
}

/**
 * The LaunchAgent that runs `consent watch --notify` in every person's login session (Aqua), as that
 * person: only their own session can show them a notification. Started again if it ends.
 */
function watchPlist(options: ServiceOptions): string {
  return plist(WATCH_LABEL, [options.nodePath, options.agentEntry, 'consent', 'watch', '--notify'], {}, `\t<key>LimitLoadToSessionType</key>
\t${string('Aqua')}
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<true/>
\t<key>ThrottleInterval</key>
\t<integer>30</integer>
\t<key>ProcessType</key>
\t${string('Interactive')}`);
}

/**
 * The launchd daemon: started at boot (RunAtLoad), started again when it exits in failure
 * (KeepAlive SuccessfulExit false, at most every 5 s), as the `_avcare` user the installer makes,
 * with its output in /Library/Logs/avcare.
 */
function launchdPlist(options: ServiceOptions): string {
  return plist(LABEL, [options.nodePath, ...options.nodeFlags, options.agentEntry, 'run'], { NODE_ENV: 'production' }, `\t<key>UserName</key>
\t${string('_avcare')}
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>ThrottleInterval</key>
\t<integer>5</integer>
\t<key>ProcessType</key>
\t${string('Background')}
\t<key>StandardOutPath</key>
\t${string('/Library/Logs/avcare/agent.log')}
\t<key>StandardErrorPath</key>
\t${string('/Library/Logs/avcare/agent.log')}`);
}

/** macOS 13+: a launchd daemon, its state under /Library/Application Support/avcare. */
export const macosPlatform: AgentPlatform = {
  id: 'macos',
  ...MACOS_PATHS,
  userStateDir: (_env, home) => posix.join(home, 'Library', 'Application Support', 'avcare'),
  controlEndpoint: (stateDir) => posix.join(stateDir, 'agent.sock'),
  serviceDefinition: (options) => ({ path: `/Library/LaunchDaemons/${LABEL}.plist`, text: launchdPlist(options) }),
  noticeAutostart: (options) => ({ path: `/Library/LaunchAgents/${WATCH_LABEL}.plist`, text: watchPlist(options) }),
  createMediaProbe: () => lazyProbe('media', async () => (await import('./mac-media-probe.js')).createMacMediaProbe()),
};
