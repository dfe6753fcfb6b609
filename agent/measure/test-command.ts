/**
 * `avcare-agent test network|avsync`: asks the running agent to run the test over its MQTT
 * connection; with no agent running, runs it here with the agent's identity. Either way the result
 * also goes to the cloud as telemetry.
 */
import { AvcareError } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/log.js';
import type { MeasureTest } from '../../protocol/measure-signal.js';
import type { AgentConfig } from '../config.js';
import { askDaemonToTest } from '../control/control-client.js';
import { daemonIsRunning, daemonStateFile, readDaemonState } from '../daemon-state.js';
import { resolveStateDir } from '../state-dir.js';
import { startPublishing } from '../transport/publishing.js';
import { MeasureService } from './measure-service.js';
import { MqttSignalLink } from './mqtt-signal-link.js';
import type { TestProgress } from './test-ipc.js';
import type { TestOutcome } from './test-runner.js';

export interface TestCommandOptions {
  config: AgentConfig;
  test: MeasureTest;
  log: Logger;
  onProgress: (progress: TestProgress) => void;
  /** How long to wait for the broker when running here. */
  connectTimeoutMs?: number;
  /** Where the agent's enrollment was looked for, to say so when there is none. */
  lookedIn?: readonly string[];
}

export async function runTestCommand(options: TestCommandOptions): Promise<{ outcome: TestOutcome; ranIn: 'daemon' | 'here' }> {
  const { config, test, log, onProgress } = options;
  const url = config.broker.url;
  if (url === undefined) {
    const where = options.lookedIn && options.lookedIn.length > 0 ? ` (looked in ${options.lookedIn.join(', ')})` : '';
    throw new AvcareError('AGENT_NOT_ENROLLED', `this PC has no cloud to test against: it is not enrolled${where} and no broker.url is configured`);
  }
  const stateDir = resolveStateDir(config);
  const deadlineMs = config.measure.durationSeconds * 1000 + 90_000;
  const viaDaemon = await askDaemonToTest(stateDir, test, onProgress, deadlineMs);
  if (viaDaemon) return { outcome: viaDaemon, ranIn: 'daemon' };
  const daemon = readDaemonState(daemonStateFile(stateDir));
  if (daemon?.publishing && daemonIsRunning(daemon, new Date())) {
    // Its broker connection is the agent's only one: a second would push it off.
    throw new AvcareError('MEASURE_BUSY', `the running agent (process ${daemon.pid}) holds this PC's broker connection, but its control socket could not be reached: run the test as the agent's user (sudo -u avcare avcare-agent test ${test}) or with sudo`);
  }

  let publishNow: (topic: string, payload: string) => Promise<void> = () => Promise.reject(new AvcareError('MEASURE_TIMEOUT', 'not connected to the broker'));
  const link = new MqttSignalLink({ identity: config, publish: (topic, payload) => publishNow(topic, payload), log });
  const publishing = startPublishing(config, { ...config.broker, url }, log, { announceStatus: false, onInbox: (topic, payload) => link.receive(topic, payload) });
  publishNow = (topic, payload) => publishing.transport.publishNow(topic, payload);
  try {
    const connectBy = Date.now() + (options.connectTimeoutMs ?? 10_000);
    while (!publishing.transport.status().connected) {
      if (Date.now() > connectBy) {
        const { lastError } = publishing.transport.status();
        throw new AvcareError('MEASURE_TIMEOUT', `cannot reach the broker ${url}${lastError === undefined ? '' : ` (${lastError})`}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const measure = new MeasureService({ config, log, sink: publishing.sink, link, stateDir });
    const outcome = await measure.run(test, 'on-demand', onProgress);
    // The result and any fault it raised are in the outbox: give them a moment to leave.
    const sentBy = Date.now() + 5_000;
    while (publishing.outbox.stats().pending > 0 && Date.now() < sentBy) await new Promise((resolve) => setTimeout(resolve, 100));
    return { outcome, ranIn: 'here' };
  } finally {
    await publishing.stop();
  }
}
