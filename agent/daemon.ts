import type { Device, SourceStatus } from '../protocol/index.js';
import type { InventorySnapshot } from '../protocol/session-results.js';
import type { AgentConfig } from './config.js';
import { runProbeCycle, type CycleResult } from './cycle.js';
import { faultMessage, healthMessage, inventoryMessage } from './events.js';
import type { FaultMonitor } from './fault-monitor.js';
import type { HotplugChange } from './faults/unstable-connection.js';
import type { Logger } from '../protocol/log.js';
import type { AgentSink, InventoryChange } from './agent-sink.js';
import { runProbe, type Probe } from './probes/probe.js';
import { Remediator, type FaultRemediator } from './remediation/remediator.js';

/** Where the running agent's events go: the console today, MQTT once the transport lands. */
export interface HotplugWatcher {
  stop(): void;
}

export interface AgentDaemonOptions {
  config: AgentConfig;
  log: Logger;
  probes: readonly Probe[];
  monitor: FaultMonitor;
  sink: AgentSink;
  /** Starts watching for USB attach/detach; each event is counted (unstable connections) and triggers an early cycle. */
  watchHotplug?: (onChange: (change?: HotplugChange) => void) => HotplugWatcher;
  /** Stop after this many cycles (tests, one-off runs). */
  maxCycles?: number;
  /**
   * Run on its own timer every config.healthIntervalSeconds (the probe cycle is slower, 60 s by
   * default) to produce the health samples. Without it each cycle's system snapshot is the
   * health sample, which is enough when nothing is published.
   */
  healthProbe?: Probe;
  /** Tries the obvious fix before a fault is raised; by default one built on `probes` (off when config.remediation.enabled is false). */
  remediator?: FaultRemediator;
  /** Counts the touches of the touch panels a cycle finds (loaded only when there is one); tests give their own roots. */
  touchActivity?: () => Promise<TouchFollower>;
}

/** What the daemon needs of the touch counter (agent/touch/touch-activity.ts). */
export interface TouchFollower {
  follow(devices: readonly Device[]): Promise<void>;
  annotate(devices: Device[]): Promise<void>;
  stop(): Promise<void>;
}

/** A replug settles in a second or two; probing at once would catch it half enumerated. */
const HOTPLUG_SETTLE_MS = 2000;

/**
 * The long-running agent: a probe cycle every interval (never two at once), an early cycle on
 * hotplug, and every fault raised or cleared handed to the sink.
 */
export class AgentDaemon {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private cycles = 0;
  private previous: Map<string, Device> | undefined;
  /** How each probe source fared in the last cycle, and when it ended. */
  private lastSources: { at: Date; sources: SourceStatus[] } | undefined;
  private hotplug: HotplugWatcher | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private healthRunning: Promise<void> | undefined;
  private touch: TouchFollower | undefined;
  private finished!: () => void;
  private readonly remediator: FaultRemediator;
  /** Aborted by stop(), so a remediation under way (a VISCA re-init, a USB settle) does not delay it. */
  private readonly stopping = new AbortController();
  /** Resolves when the daemon has stopped, by stop() or after maxCycles. */
  readonly done = new Promise<void>((resolve) => (this.finished = resolve));

  constructor(private readonly options: AgentDaemonOptions) {
    this.remediator = options.remediator ?? new Remediator({ config: options.config, log: options.log, probes: options.probes });
  }

  start(): void {
    this.hotplug = this.options.watchHotplug?.((change) => {
      if (change) this.options.monitor.recordConnection(change);
      this.schedule(HOTPLUG_SETTLE_MS);
    });
    this.schedule(0);
    if (this.options.healthProbe) this.scheduleHealth(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.hotplug?.stop();
    this.stopping.abort(new Error('the agent is stopping'));
    await this.running;
    await this.stopHealth();
    await this.touch?.stop();
    this.finished();
  }

  /** The devices of the last cycle; undefined before the first one ends. */
  get devices(): Device[] | undefined {
    return this.previous ? [...this.previous.values()] : undefined;
  }

  /**
   * The last cycle as an engineer reads it: the devices, and how each source fared (an unavailable
   * USB bus is not "nothing plugged in"); undefined before the first cycle ends.
   */
  get lastInventory(): InventorySnapshot | undefined {
    return this.previous && this.lastSources ? { at: this.lastSources.at.toISOString(), devices: [...this.previous.values()], sources: this.lastSources.sources } : undefined;
  }

  /** A cycle now (after the one under way, never beside it), for a remote re-probe: its devices and sources. */
  async probeNow(): Promise<InventorySnapshot> {
    while (this.running) await this.running;
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.running = this.cycle().finally(() => {
        this.running = undefined;
      });
      await this.running;
    }
    return this.lastInventory ?? { at: new Date().toISOString(), devices: [], sources: [] };
  }

  /** Health samples on their own clock: a slow probe cycle neither delays nor doubles them. */
  private scheduleHealth(delayMs: number): void {
    if (this.stopped) return;
    this.healthTimer = setTimeout(() => {
      this.healthRunning = this.sampleHealth().finally(() => {
        this.healthRunning = undefined;
        this.scheduleHealth(this.options.config.healthIntervalSeconds * 1000);
      });
    }, delayMs);
  }

  private async sampleHealth(): Promise<void> {
    const { config, log, sink, healthProbe } = this.options;
    if (!healthProbe) return;
    try {
      // runProbe turns a probe failure into a result (and logs it): that sample is skipped.
      const { findings } = await runProbe(healthProbe, { config, log }, config.probeTimeoutSeconds * 1000);
      if (findings.system) sink.health(healthMessage(config, findings.system, new Date()));
    } catch (error) {
      log.error({ err: error }, 'health sample failed');
    }
  }

  private async stopHealth(): Promise<void> {
    clearTimeout(this.healthTimer);
    await this.healthRunning;
    clearTimeout(this.healthTimer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.running) {
        // A cycle is under way: run again right after it rather than overlapping it.
        void this.running.then(() => this.schedule(0));
        return;
      }
      this.running = this.cycle().finally(() => {
        this.running = undefined;
      });
    }, delayMs);
  }

  private async cycle(): Promise<void> {
    const { config, log, probes, monitor, sink } = this.options;
    try {
      const result = await runProbeCycle(probes, { config, log });
      await this.countTouches(result.devices);
      this.report(result);
      const transitions = await monitor.observe(result, { remediator: this.remediator, signal: this.stopping.signal });
      for (const transition of transitions) sink.fault(faultMessage(config, transition));
    } catch (error) {
      // runProbeCycle already contains probe failures; anything here is a bug, logged and survived.
      log.error({ err: error }, 'probe cycle failed');
    }
    this.cycles += 1;
    if (this.options.maxCycles !== undefined && this.cycles >= this.options.maxCycles) {
      this.stopped = true;
      this.hotplug?.stop();
      await this.stopHealth();
      await this.touch?.stop();
      this.finished();
      return;
    }
    this.schedule(config.probeIntervalSeconds * 1000);
  }

  /** The touch counts since the last cycle onto each touch panel; nothing is loaded on a PC without one. */
  private async countTouches(devices: Device[]): Promise<void> {
    if (!this.touch && !devices.some((device) => device.kind === 'touch-panel' && (device.touch?.inputDevices.length ?? 0) > 0)) return;
    try {
      this.touch ??= await (this.options.touchActivity ?? (() => import('./touch/touch-activity.js').then(({ TouchActivity }) => new TouchActivity())))();
      await this.touch.annotate(devices);
      await this.touch.follow(devices);
    } catch (error) {
      this.options.log.warn({ err: error }, 'cannot count touches');
    }
  }

  private report(result: CycleResult): void {
    const { config, sink } = this.options;
    const current = new Map(result.devices.map((device) => [device.id, device]));
    const change = diffInventory(this.previous, current);
    this.previous = current;
    this.lastSources = { at: result.at, sources: result.sources };
    if (result.system && !this.options.healthProbe) sink.health(healthMessage(config, result.system, result.at));
    sink.inventory(inventoryMessage(config, result), change);
  }
}

export function diffInventory(previous: Map<string, Device> | undefined, current: Map<string, Device>): InventoryChange {
  const before = previous ?? new Map<string, Device>();
  return {
    attached: [...current.values()].filter((device) => !before.has(device.id)),
    detached: [...before.values()].filter((device) => !current.has(device.id)),
    changed: [...current.values()].flatMap((device) => {
      const old = before.get(device.id);
      return old && old.status !== device.status ? [{ device, previous: old.status }] : [];
    }),
  };
}
