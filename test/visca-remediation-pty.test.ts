import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfig } from '../agent/config.js';
import { runProbeCycle } from '../agent/cycle.js';
import type { AgentSink } from '../agent/agent-sink.js';
import { AgentDaemon } from '../agent/daemon.js';
import { FaultMonitor } from '../agent/fault-monitor.js';
import { silentLogger } from '../protocol/log.js';
import { createSerialProbe } from '../agent/probes/serial-probe.js';
import { Remediator } from '../agent/remediation/remediator.js';
import { faultMessageSchema, type FaultMessage } from '../protocol/index.js';
import { openPtyPair, type PtyPair } from './helpers/pty-pair.js';
import { startViscaCamera, type SimulatedViscaCamera, type ViscaCameraOptions } from './sim/visca-camera.js';

// The agent's fault monitor and remediator against the simulated camera over a real socat pty
// pair: IF_Clear and Address Set really cross a tty, the port is really closed after the re-init
// and opened again by the re-probe.

const INQUIRY_TIMEOUT_MS = 300;
const hex = (packets: readonly Buffer[]) => packets.map((packet) => packet.toString('hex'));

describe('remediation of a VISCA camera on a pty', () => {
  let pair: PtyPair;
  let camera: SimulatedViscaCamera | undefined;

  beforeAll(async () => {
    pair = await openPtyPair();
  });

  afterEach(async () => {
    await camera?.close();
    camera = undefined;
  });

  afterAll(async () => {
    await pair.close();
  });

  async function startCamera(options: ViscaCameraOptions): Promise<SimulatedViscaCamera> {
    camera = await startViscaCamera(pair.b, options);
    return camera;
  }

  /** Raise on the first sighting, so each cycle that sees the fault is the one that would raise it. */
  function agentConfig(): AgentConfig {
    return parseAgentConfig({ serialPorts: [{ path: pair.a, name: 'Front camera' }], discoverSerialPorts: false, hysteresis: { raiseAfterCycles: 1, clearAfterCycles: 1 } });
  }

  function agent() {
    const config = agentConfig();
    const serial = createSerialProbe({ inquiryTimeoutMs: INQUIRY_TIMEOUT_MS });
    const monitor = new FaultMonitor(config, null);
    const remediator = new Remediator({ config, log: silentLogger, probes: [serial], viscaReplyTimeoutMs: INQUIRY_TIMEOUT_MS });
    const cycle = async () => monitor.observe(await runProbeCycle([serial], { config, log: silentLogger }), { remediator });
    return { config, monitor, cycle };
  }

  it('brings a hung camera back with IF_Clear and raises nothing', async () => {
    const sim = await startCamera({ mode: 'hung' });
    const { cycle, monitor } = agent();
    expect(await cycle()).toEqual([]);
    expect(monitor.active()).toEqual([]);
    // Power inquiry unanswered, the two broadcasts, then the re-probe that finds the camera on.
    expect(hex(sim.received)).toEqual(['81090400ff', '88010001ff', '883001ff', '81090400ff', '81090447ff', '81090002ff']);
    // The next cycle finds it answering without any help.
    expect(await cycle()).toEqual([]);
    expect(hex(sim.received.slice(6))).toEqual(['81090400ff', '81090447ff', '81090002ff']);
  });

  it('raises VISCA_NOT_ANSWERING from the running agent with the re-init it tried, for a camera that stays dead', async () => {
    const sim = await startCamera({ mode: 'silent' });
    const faults: FaultMessage[] = [];
    const sink: AgentSink = { inventory: () => undefined, health: () => undefined, fault: (message) => faults.push(message) };
    const config = agentConfig();
    // The daemon's own remediator, built on its probes: what `avcare-agent run` does.
    const daemon = new AgentDaemon({ config, log: silentLogger, probes: [createSerialProbe({ inquiryTimeoutMs: INQUIRY_TIMEOUT_MS })], monitor: new FaultMonitor(config, null), sink, maxCycles: 1 });
    daemon.start();
    await daemon.done;

    expect(faults.map((fault) => `${fault.state}:${fault.code}`)).toEqual(['raised:VISCA_NOT_ANSWERING']);
    const [fault] = faults;
    const message = faultMessageSchema.parse(fault);
    expect(message.evidence.actions).toEqual([
      {
        action: 'visca-reinit',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
        result: `no answer to IF_Clear or Address Set (no reply from the VISCA chain within 1000 ms); still failing afterwards: Front camera does not answer on ${pair.a}: no reply from VISCA camera 1 within ${INQUIRY_TIMEOUT_MS} ms`,
      },
    ]);
    expect(hex(sim.received)).toEqual(['81090400ff', '88010001ff', '883001ff', '81090400ff']);
  });

  it('raises VISCA_POWER_ERROR saying the chain answered the re-init but the error stayed', async () => {
    await startCamera({ mode: 'power-error' });
    const [raised] = await agent().cycle();
    expect(raised?.condition.code).toBe('VISCA_POWER_ERROR');
    expect(raised?.condition.evidence.actions).toMatchObject([
      { action: 'visca-reinit', result: 'the camera chain answered IF_Clear and Address Set (1 camera on the chain); still failing afterwards: Front camera reports a power-circuit error' },
    ]);
  });

  it('does not re-initialise the line again within the cooldown when the fault returns', async () => {
    const sim = await startCamera({ mode: 'hung', recoversTo: 'on' });
    const { cycle } = agent();
    expect(await cycle()).toEqual([]);
    // Hung again right after: this time the fault is raised without another round of broadcasts.
    sim.setMode('hung');
    const before = sim.received.length;
    const [raised] = await cycle();
    expect(raised?.condition.code).toBe('VISCA_NOT_ANSWERING');
    expect(hex(sim.received.slice(before))).toEqual(['81090400ff']);
    expect(raised?.condition.evidence.actions).toMatchObject([{ action: 'visca-reinit', result: expect.stringContaining('the fault was gone afterwards') as unknown }]);
  });
});
