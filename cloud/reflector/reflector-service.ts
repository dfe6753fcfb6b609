/**
 * A reflector in a process of its own (`avcare-cloud reflector`), for a provider that runs
 * reflectors near its schools: it reads agents' signalling from the broker with an account of its
 * own and answers into their inboxes. It needs no database and no private key: only the cloud's
 * public key, to honour the grants the cloud signed and nothing else.
 */
import mqtt from 'mqtt';
import type { Logger } from 'pino';
import { untrustedText } from '../../protocol/index.js';
import { agentSignalInbox, parseSignalTopic, readAgentSignal, signalFilter } from '../../protocol/measure-signal.js';
import { RateLimitedLog } from '../collector/rate-limited-log.js';
import { ProbeServer } from './probe-server.js';
import { Reflector } from './reflector.js';

export interface ReflectorServiceOptions {
  id: string;
  brokerUrl: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  cloudPublicKeyPem: string;
  /** Address the probe port listens on. */
  host: string;
  probePort: number;
  announceAddress?: string;
  portRange?: { min: number; max: number };
  log: Logger;
}

export interface RunningReflector {
  readonly id: string;
  readonly probePort: number;
  readonly ready: Promise<void>;
  activeSessions(): number;
  stop(): Promise<void>;
}

export async function startReflectorService(options: ReflectorServiceOptions): Promise<RunningReflector> {
  const log = options.log.child({ module: 'reflector-service', reflector: options.id });
  const limitedLog = new RateLimitedLog(log);
  const probe = await ProbeServer.start({ host: options.host, port: options.probePort, log });
  const client = mqtt.connect(options.brokerUrl, {
    clientId: `avcare-reflector:${options.id}`,
    clean: true,
    protocolVersion: 4,
    reconnectPeriod: 1_000,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  const reflector = new Reflector({
    id: options.id,
    cloudPublicKeyPem: options.cloudPublicKeyPem,
    log,
    bulk: probe,
    send: (to, message) => client.publishAsync(agentSignalInbox(to.school, to.agent), JSON.stringify(message), { qos: 1 }).then(() => undefined),
    ...(options.announceAddress === undefined ? {} : { announceAddress: options.announceAddress }),
    ...(options.portRange === undefined ? {} : { portRange: options.portRange }),
  });
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  client.on('connect', () => {
    // A clean session forgets the subscription: subscribe on every connection.
    client.subscribe(signalFilter(), { qos: 1 }, (error, granted) => {
      if (error || granted?.some((grant) => grant.qos === 0x80)) {
        log.error({ err: error, filter: signalFilter() }, 'the broker refused the signalling subscription; check this reflector account\'s access');
        return;
      }
      log.info({ broker: options.brokerUrl.replace(/\/\/[^@/]*@/, '//[redacted]@') }, 'reflector connected');
      markReady();
    });
  });
  client.on('error', (error) => limitedLog.warn('broker', { err: error.message }, 'broker connection failed'));
  client.on('message', (topic, payload) => {
    const from = parseSignalTopic(topic);
    if (!from) return;
    const read = readAgentSignal(payload);
    if ('reason' in read) {
      limitedLog.warn(`bad-signal:${read.reason}`, { topic: untrustedText(topic, 128), reason: read.reason, detail: read.detail.slice(0, 200) }, 'dropped a bad signalling message');
      return;
    }
    reflector.handle(from, read.signal).catch((error: unknown) => limitedLog.warn('failed', { err: error }, 'handling a signalling message failed'));
  });
  return {
    id: options.id,
    probePort: probe.port,
    ready,
    activeSessions: () => reflector.activeSessions,
    stop: async () => {
      reflector.close();
      await client.endAsync();
      await probe.close();
    },
  };
}
