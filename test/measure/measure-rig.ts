/**
 * A measurement rig for tests and bench:measure: the cloud's grants and a reflector (with its
 * probe port) in this process, the agent's test in its own child process as in production, and
 * the media and probe UDP forced through impaired relays (each in a process of its own) whose
 * ground truth is read back after each run.
 */
import { mkdtempSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTestInChild, type TestOutcome } from '../../agent/measure/test-runner.js';
import type { TestSettings } from '../../agent/measure/test-ipc.js';
import { silentLogger, type Logger } from '../../protocol/log.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { MeasureGrants } from '../../cloud/measurements/measure-grants.js';
import { ProbeServer } from '../../cloud/reflector/probe-server.js';
import { Reflector } from '../../cloud/reflector/reflector.js';
import type { DirectionTruth, Impairment } from '../sim/impaired-relay.js';
import { startRelayProcess } from '../sim/relay-process.js';
import { inProcessLink, type InProcessLink } from './in-process-link.js';
import { RelayPath } from './relay-path.js';

export interface RigRun {
  outcome: TestOutcome;
  truth: { up: DirectionTruth; down: DirectionTruth };
}

/** WebRTC leaves loopback out of ICE: the media needs one of this machine's own addresses. */
export function hostAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
  if (!address) throw new Error('this machine has no non-loopback IPv4 address for WebRTC to use');
  return address;
}

export class MeasureRig {
  private constructor(
    private readonly host: string,
    private readonly reflector: Reflector,
    private readonly grants: MeasureGrants,
    private readonly probe: ProbeServer,
    private readonly deliverTo: { link: InProcessLink | undefined },
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  static async start(log: Logger = silentLogger): Promise<MeasureRig> {
    const host = hostAddress();
    const { key } = CloudSigningKey.loadOrCreate(join(mkdtempSync(join(tmpdir(), 'avcare-rig-key-')), 'signing-key.pem'));
    const probe = await ProbeServer.start({ host, port: 0, log });
    const deliverTo: { link: InProcessLink | undefined } = { link: undefined };
    const reflector = new Reflector({
      id: 'rig',
      cloudPublicKeyPem: key.publicKeyPem,
      log,
      bulk: probe,
      send: (_to, message) => {
        deliverTo.link?.deliver(message);
        return Promise.resolve();
      },
    });
    const grants = new MeasureGrants({ signingKey: key, reflectorFor: () => 'rig', log, perHour: 1000 });
    return new MeasureRig(host, reflector, grants, probe, deliverTo, mkdtempSync(join(tmpdir(), 'avcare-rig-state-')), log);
  }

  /** One network test through a path impaired so; fresh relays each time, so each truth is this run's alone. */
  async network(impairment: Impairment, settings: TestSettings = {}, options: { childEntry?: string; deadlineMs?: number } = {}): Promise<RigRun> {
    const media = await startRelayProcess(this.host, impairment);
    const probe = await startRelayProcess(this.host, impairment);
    try {
      const link = inProcessLink({ school: 'rig-school', room: 'rig-room', agent: 'rig-agent' }, this.grants, () => this.reflector, new RelayPath(media, { relay: probe, probeHost: this.host }));
      this.deliverTo.link = link;
      const outcome = await runTestInChild({ test: 'network', settings, link, stateDir: this.stateDir, log: this.log, ...options });
      return { outcome, truth: await media.truth() };
    } finally {
      media.close();
      probe.close();
    }
  }

  get activeSessions(): number {
    return this.reflector.activeSessions;
  }

  async close(): Promise<void> {
    this.reflector.close();
    await this.probe.close();
  }
}
