import type { Device, FaultMessage, HealthMessage, InventoryMessage } from '../protocol/index.js';
import type { AgentSink, InventoryChange } from './agent-sink.js';
import type { Logger } from '../protocol/log.js';
import { out } from './i18n/i18n.js';
import { describeConnection, printable, renderDevices, renderSources, renderSystem } from './render.js';

function time(iso: string): string {
  return new Date(iso).toLocaleTimeString('en-GB', { hour12: false });
}

function deviceLine(device: Device): string {
  const { t } = out();
  return `${t(`kind.${device.kind}`)} "${printable(device.name)}" (${printable(describeConnection(device))}) ${t(`status.${device.status}`)}${device.error ? ` ${device.error.code}` : ''}`;
}

/** For a person watching `npm start` or `avcare-agent run` in a terminal. */
export function consoleSink(stream: NodeJS.WritableStream): AgentSink {
  const translated = out;
  let first = true;
  let lastSources = '';
  let systemShown = false;
  return {
    inventory(message: InventoryMessage, change: InventoryChange) {
      const { t } = translated();
      const sources = renderSources(message.sources);
      const at = time(message.at);
      if (first) {
        const started = t('run.started', { time: at, agent: message.agentId, school: message.schoolId, room: message.roomId, count: message.devices.length });
        stream.write(`${started}\n${renderDevices(message.devices)}\n${sources}\n`);
        first = false;
      } else {
        for (const device of change.attached) stream.write(`${t('run.attached', { time: at, device: deviceLine(device) })}\n`);
        for (const device of change.detached) stream.write(`${t('run.detached', { time: at, device: deviceLine(device) })}\n`);
        for (const { device, previous } of change.changed) stream.write(`${t('run.changed', { time: at, device: deviceLine(device), previous: t(`status.${previous}`) })}\n`);
        if (sources !== lastSources) stream.write(`${t('run.sourcesNow', { time: at })}\n${sources}\n`);
      }
      lastSources = sources;
    },
    health(message: HealthMessage) {
      // Once at start: repeated health samples would scroll the faults away (they go to the cloud).
      if (systemShown) return;
      systemShown = true;
      stream.write(`${renderSystem(message.system)}\n`);
    },
    fault(message: FaultMessage) {
      const { t, stored } = translated();
      // The message in the reader's language when the agent kept its key; English otherwise.
      const text = printable(message.messageKey === undefined ? message.message : stored(message.messageKey, message.params ?? {}));
      const values = { time: time(message.at), severity: t(`severity.${message.severity}`), code: message.code, message: text };
      stream.write(`${message.state === 'raised' ? t('run.raised', values) : t('run.cleared', values)}\n`);
      for (const line of triedLines(message)) stream.write(`${line}\n`);
    },
  };
}

/** What the agent tried before raising (evidence.actions), one line each; the rest of the evidence goes to the cloud. */
function triedLines(message: FaultMessage): string[] {
  const actions = message.evidence.actions;
  if (message.state !== 'raised' || !Array.isArray(actions)) return [];
  return actions.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { action, result } = entry as Record<string, unknown>;
    return typeof action === 'string' && typeof result === 'string' ? [out().t('run.tried', { action: printable(action), result: printable(result) })] : [];
  });
}

/** For systemd: one structured log line per event, in the journal. */
export function logSink(log: Logger): AgentSink {
  return {
    inventory(message, change) {
      if (change.attached.length || change.detached.length || change.changed.length) {
        log.info({ attached: change.attached.map((d) => d.id), detached: change.detached.map((d) => d.id), changed: change.changed.map((c) => ({ id: c.device.id, from: c.previous, to: c.device.status })), devices: message.devices.length }, 'inventory changed');
      }
    },
    health(message: HealthMessage) {
      log.debug({ cpu: message.system.cpu.loadPercent, availableBytes: message.system.memory.availableBytes }, 'health');
    },
    fault(message) {
      // The log excerpt a raised fault carries came from this log: writing it back would nest logs in logs.
      const { logExcerpt, ...evidence } = message.evidence;
      log[message.state === 'raised' ? 'warn' : 'info'](
        { code: message.code, deviceId: message.deviceId, severity: message.severity, category: message.category, evidence, ...(logExcerpt === undefined ? {} : { logExcerptLines: Array.isArray(logExcerpt) ? logExcerpt.length : 0 }) },
        `fault ${message.state}: ${message.message}`,
      );
    },
    measurement(message) {
      log.info({ name: message.name, value: message.value, unit: message.unit }, 'measurement');
    },
  };
}

/**
 * Hands every event to each sink in turn; a sink that throws (a full disk under the outbox) is
 * logged and the others still get the event, so printing never stops because publishing failed.
 */
export function teeSink(log: Logger, sinks: readonly AgentSink[]): AgentSink {
  const each = (kind: keyof AgentSink, call: (sink: AgentSink) => void) => {
    for (const sink of sinks) {
      try {
        call(sink);
      } catch (error) {
        log.error({ err: error, kind }, 'an event sink failed; the other sinks still got the event');
      }
    }
  };
  return {
    inventory: (message, change) => each('inventory', (sink) => sink.inventory(message, change)),
    health: (message) => each('health', (sink) => sink.health(message)),
    fault: (message) => each('fault', (sink) => sink.fault(message)),
    measurement: (message) => each('measurement', (sink) => sink.measurement?.(message)),
  };
}

/** Lines of the agent's recent log a raised fault carries: enough for context, small on the wire. */
export const FAULT_LOG_LINES = 20;

/**
 * Gives every raised fault the agent's recent log lines (secrets already removed by RecentLog) as
 * `evidence.logExcerpt`, so the ticket's diagnostic bundle has the log nobody has to ask for.
 * Lines are taken before this fault's own log line is written: they show what led up to it.
 */
export function withLogExcerpt(sink: AgentSink, excerpt: (limit: number) => readonly string[]): AgentSink {
  return {
    ...sink,
    fault(message) {
      if (message.state !== 'raised') {
        sink.fault(message);
        return;
      }
      sink.fault({ ...message, evidence: { ...message.evidence, logExcerpt: [...excerpt(FAULT_LOG_LINES)] } });
    },
  };
}
