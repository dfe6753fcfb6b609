import { AvcareError, reportMessageSchema } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import { runProbeCycle } from './cycle.js';
import { daemonIsRunning, daemonStateFile, readDaemonState, type DaemonState } from './daemon-state.js';
import { createProbes } from './default-probes.js';
import { reportMessage } from './events.js';
import { FaultMonitor } from './fault-monitor.js';
import type { LearnedDevices } from './faults/learned-devices.js';
import type { Logger } from '../protocol/log.js';
import type { RecentLog } from './recent-log.js';
import { buildReportBundle, fitReport, reportInput } from './report-bundle.js';
import { REPORT_STRINGS } from './report-strings.js';
import { configuredSecrets } from './scrub-secrets.js';
import type { ReportDelivery, ReportOutcome } from './report-outcome.js';
import { resolveStateDir } from './state-dir.js';
import { MqttTransport, mqttClientId } from './transport/mqtt-transport.js';
import { Outbox, outboxFile } from './transport/outbox.js';

/**
 * How long the command waits to see its report leave: long enough for a connected daemon's next
 * outbox poll and a PUBACK, short enough for a teacher at the front of a class.
 */
export const REPORT_SEND_WAIT_MS = 5000;

/** A one-shot sender tries again quickly: it has seconds, not hours. */
const ONE_SHOT_BACKOFF = { baseMs: 250, capMs: 1000, stableAfterMs: 30_000 };

export interface FileReportOptions {
  config: AgentConfig;
  words: readonly string[];
  by?: string | undefined;
  device?: string | undefined;
  /** The OS user, reporter when --by is not given. */
  defaultReporter?: string | undefined;
  /** The devices this room is expected to have, as `probe` reads them (never saved here). */
  learned: LearnedDevices | null;
  log: Logger;
  recent: RecentLog;
  /** Where the agent's enrollment was looked for, to say so when there is none. */
  lookedIn?: readonly string[];
  /** Called once the input is checked, before the probe cycle (which takes a few seconds). */
  onProbing?: () => void;
  waitMs?: number;
  now?: () => Date;
}

/**
 * `avcare-agent report`: checks the words, runs one probe cycle as `probe` does (configured serial
 * ports and projectors included), builds the report with its bundle, stores it in the agent's
 * durable outbox, and sees it sent: by the running daemon if there is one, else by itself.
 */
export async function fileReport(options: FileReportOptions): Promise<ReportOutcome> {
  const { config, log, recent } = options;
  const now = options.now ?? (() => new Date());
  const input = reportInput(options.words, { by: options.by, device: options.device, defaultReporter: options.defaultReporter });
  if (config.broker.url === undefined) {
    // Saved into an outbox nothing will ever send, a report would only look filed: the teacher must know it was not.
    throw new AvcareError('AGENT_NOT_ENROLLED', REPORT_STRINGS.notConnected(options.lookedIn ?? []), {}, { hint: REPORT_STRINGS.notConnectedHint() });
  }
  options.onProbing?.();
  const stateDir = resolveStateDir(config);
  const cycle = await runProbeCycle(createProbes(), { config, log });
  const detected = new FaultMonitor(config, options.learned, log).detect(cycle);
  // Read after the cycle: the daemon may have written meanwhile, and its log lines count too.
  const daemon = readDaemonState(daemonStateFile(stateDir));
  const daemonRunning = daemonIsRunning(daemon, now());
  const bundle = buildReportBundle({ cycle, detected, daemon, daemonRunning, logLines: recent.excerpt(), knownSecrets: configuredSecrets(config), deviceId: input.deviceId });
  // Parsed like every message that leaves the process: a bug here must not reach the cloud's gate.
  const message = reportMessageSchema.parse(fitReport(reportMessage(config, input, bundle, now())));

  // busy_timeout in the outbox waits for the daemon's write lock instead of failing.
  const outbox = new Outbox({ path: outboxFile(stateDir), maxEvents: config.outbox.maxEvents, log });
  try {
    const seq = outbox.enqueue(message, { retain: false }).seq ?? 0;
    log.info({ reportId: message.eventId, seq, deviceId: input.deviceId, daemonRunning }, 'report queued');
    const delivered = await deliver({ config, outbox, seq, daemon: daemonRunning ? daemon : undefined, log, waitMs: options.waitMs ?? REPORT_SEND_WAIT_MS });
    const outcome: ReportOutcome = { reportId: message.eventId, seq, ...delivered, outbox: outbox.path };
    if (input.deviceId !== undefined) {
      outcome.deviceId = input.deviceId;
      outcome.deviceFound = cycle.devices.some((device) => device.id === input.deviceId);
    }
    return outcome;
  } finally {
    outbox.close();
  }
}

interface Delivery {
  status: ReportOutcome['status'];
  delivery: ReportDelivery;
  brokerError?: string;
}

async function deliver(options: { config: AgentConfig; outbox: Outbox; seq: number; daemon: DaemonState | undefined; log: Logger; waitMs: number }): Promise<Delivery> {
  const { config, outbox, seq, daemon, log, waitMs } = options;
  const gone = () => !outbox.contains(seq);
  if (daemon?.publishing) {
    // The daemon polls its outbox and sends it; two senders would only duplicate it.
    return { status: (await waitFor(gone, waitMs)) ? 'sent' : 'queued', delivery: 'daemon' };
  }
  const url = config.broker.url;
  if (url === undefined) throw new Error('fileReport checks for a broker before it queues anything');
  const transport = new MqttTransport({
    identity: config,
    broker: { ...config.broker, url },
    outbox,
    log,
    // The agent's own client id: no daemon publishes now, and the cloud's brokers accept an enrolled
    // agent under that one id only (so no agent can take over another's session).
    clientId: mqttClientId(config),
    announceStatus: false,
    backoff: ONE_SHOT_BACKOFF,
    stopTimeoutMs: 1000,
  });
  transport.start();
  try {
    if (await waitFor(gone, waitMs)) return { status: 'sent', delivery: 'direct' };
    const { lastError } = transport.status();
    return lastError === undefined ? { status: 'queued', delivery: 'next-run' } : { status: 'queued', delivery: 'next-run', brokerError: lastError };
  } finally {
    await transport.stop();
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}
