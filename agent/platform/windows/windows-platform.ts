import { createHash } from 'node:crypto';
import { win32 } from 'node:path';
import { WINDOWS_PATHS } from '../platform-paths.js';
import type { AgentPlatform, ServiceOptions } from '../platform-types.js';
import { xmlText } from '../service-xml.js';
import { lazyProbe } from '../../probes/lazy-probe.js';

const programFiles = process.env.ProgramFiles ?? 'C:\\Program Files';
const SERVICE_STATE_DIR = WINDOWS_PATHS.serviceStateDir;

/** A command-line argument as Windows' CommandLineToArgvW reads it back: quoted when it has a space or quote. */
function windowsArgument(value: string): string {
  if (value !== '' && !/[\s"]/.test(value)) return value;
  return `"${value.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`;
}

/**
 * The service definition for WinSW (Windows Service Wrapper, which node-windows ships): Node.js
 * cannot answer the service control manager itself. Starts at boot (delayed, after the network),
 * restarts after a failure (5 s, then 30 s), logs rolled by size under the state directory.
 */
function winswXml(options: ServiceOptions): string {
  const args = [...options.nodeFlags, options.agentEntry, 'run'].map(windowsArgument).join(' ');
  return `<!-- Installed by avcare install.ps1: rewritten on upgrade, removed by install.ps1 -Uninstall. -->
<service>
  <id>avcare-agent</id>
  <name>avcare agent</name>
  <description>avcare classroom AV monitoring agent</description>
  <executable>${xmlText(options.nodePath)}</executable>
  <arguments>${xmlText(args)}</arguments>
  <env name="AVCARE_CONFIG" value="${xmlText(windowsPlatform.serviceConfigFile)}"/>
  <env name="STATE_DIRECTORY" value="${xmlText(SERVICE_STATE_DIR)}"/>
  <env name="NODE_ENV" value="production"/>
  <startmode>Automatic</startmode>
  <delayedAutoStart>true</delayedAutoStart>
  <onfailure action="restart" delay="5 sec"/>
  <onfailure action="restart" delay="30 sec"/>
  <resetfailure>1 hour</resetfailure>
  <stoptimeout>15 sec</stoptimeout>
  <logpath>${xmlText(win32.join(SERVICE_STATE_DIR, 'logs'))}</logpath>
  <log mode="roll-by-size">
    <sizeThreshold>10240</sizeThreshold>
    <keepFiles>3</keepFiles>
  </log>
</service>
`;
}

/** Windows 10/11: state and configuration under %ProgramData%\avcare, the control channel a named pipe. */
export const windowsPlatform: AgentPlatform = {
  id: 'windows',
  ...WINDOWS_PATHS,
  userStateDir: (env, home) => win32.join(env.LOCALAPPDATA ?? win32.join(home, 'AppData', 'Local'), 'avcare'),
  // Pipe names are global to the PC: the service's is fixed, a person's own agent gets one from its state directory.
  controlEndpoint: (stateDir) => (stateDir === SERVICE_STATE_DIR ? '\\\\.\\pipe\\avcare-agent' : `\\\\.\\pipe\\avcare-agent-${createHash('sha256').update(stateDir).digest('hex').slice(0, 12)}`),
  serviceDefinition: (options) => ({ path: win32.join(programFiles, 'avcare', 'avcare-agent.xml'), text: winswXml(options) }),
  noticeAutostart: () => null,
  createMediaProbe: () => lazyProbe('media', async () => (await import('./windows-media-probe.js')).createWindowsMediaProbe()),
};
