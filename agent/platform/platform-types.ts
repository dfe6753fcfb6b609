/** The platform interface's types, below the platform sides that implement them. */
import type { Probe } from '../probes/probe.js';
import type { PlatformPaths } from './platform-paths.js';
export type PlatformId = 'linux' | 'windows' | 'macos';

/** How the installed service starts the agent. */
export interface ServiceOptions {
  /** The Node.js the installer checked, by full path. */
  nodePath: string;
  /** dist/agent/cli.js of the installed package. */
  agentEntry: string;
  /** Node's flags for the daemon (agent/daemon-node-flags.ts). */
  nodeFlags: readonly string[];
}

export interface ServiceDefinition {
  /** Where the installer writes it. */
  path: string;
  text: string;
}

export interface AgentPlatform extends Readonly<PlatformPaths> {
  readonly id: PlatformId;
  /** A person's own agent (not the service): its state directory under their home. */
  userStateDir(env: NodeJS.ProcessEnv, home: string): string;
  /** The control channel's address for a state directory: a Unix socket path, or a named pipe on Windows. */
  controlEndpoint(stateDir: string): string;
  /** The definition that makes the agent a service starting at boot and restarting on failure; null where install.sh writes it (Linux's systemd unit). */
  serviceDefinition(options: ServiceOptions): ServiceDefinition | null;
  /**
   * What starts `consent watch --notify` in each person's desktop session, so a session request
   * shows as a notice; null where the installer writes it (Linux's XDG autostart) or where a
   * teacher's session cannot reach the agent (Windows: the pipe is administrators' only).
   */
  noticeAutostart(options: ServiceOptions): ServiceDefinition | null;
  /** The media source: sysfs and ALSA on Linux, Plug and Play and the privacy switches on Windows. */
  createMediaProbe(): Probe;
}
