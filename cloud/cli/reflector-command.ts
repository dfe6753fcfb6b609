/** `avcare-cloud reflector`: a WebRTC reflector in a process of its own, near the schools it serves. */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { AvcareError } from '../../protocol/index.js';
import { createLogger } from '../../protocol/log.js';
import { readPasswordFile } from '../accounts/first-run.js';
import { startReflectorService } from '../reflector/reflector-service.js';

interface ReflectorFlags {
  broker: string;
  id: string;
  cloudKey: string;
  user?: string;
  passwordFile?: string;
  brokerCa?: string;
  host: string;
  probePort: string;
  address?: string;
  ports?: string;
}

/** The cloud's public key, from a public key PEM or from the cloud's own key file (only its public half is kept). */
export function readCloudPublicKey(file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read the cloud's key ${file} (--cloud-key): ${(error as Error).message}`, { file }, { cause: error });
  }
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType ?? 'unknown'} key`);
    return key.export({ type: 'spki', format: 'pem' }).toString();
  } catch (error) {
    throw new AvcareError('CONFIG_INVALID', `${file} (--cloud-key) is not the cloud's Ed25519 key: ${(error as Error).message}`, { file });
  }
}

function parsePorts(value: string | undefined): { min: number; max: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const min = Number(match?.[1]);
  const max = Number(match?.[2]);
  if (!match || min < 1024 || max > 65_535 || min > max) throw new AvcareError('INVALID_ARGUMENT', `--ports ${value}: must be MIN-MAX within 1024-65535, lowest first`);
  return { min, max };
}

export function reflectorCommand(): Command {
  return new Command('reflector')
    .description("run a WebRTC reflector for agents' network tests in its own process, reading signalling from the broker")
    .requiredOption('--broker <url>', 'the broker the agents use (mqtt://HOST:PORT or mqtts://)')
    .requiredOption('--id <name>', 'this reflector\'s name: the cloud sends agents here with --agents-reflector NAME')
    .requiredOption('--cloud-key <file>', "the cloud's public key (PEM), or its signing-key.pem: only grants it signed are honoured")
    .option('--user <name>', 'the broker account of this reflector (subscribes avcare/v1/+/+/+/signal, publishes avcare/to/v1/+/+/signal)')
    .option('--password-file <file>', "file holding --user's password (first line)")
    .option('--broker-ca <file>', 'CA certificate (PEM) to verify an mqtts:// broker')
    .option('--host <address>', 'address the probe port listens on', '0.0.0.0')
    .option('--probe-port <port>', 'TCP and UDP port of the throttling check (0: one the OS picks)', '0')
    .option('--address <address>', 'the address agents reach this reflector at, when it is behind NAT')
    .option('--ports <min-max>', "UDP ports the media may use, for a firewall rule")
    .action(async (flags: ReflectorFlags) => {
      if ((flags.user === undefined) !== (flags.passwordFile === undefined)) throw new AvcareError('INVALID_ARGUMENT', 'give both --user and --password-file, or neither');
      const probePort = Number(flags.probePort);
      if (!Number.isInteger(probePort) || probePort < 0 || probePort > 65_535) throw new AvcareError('INVALID_ARGUMENT', `--probe-port ${flags.probePort}: must be a port number from 0 to 65535`);
      const log = createLogger();
      const portRange = parsePorts(flags.ports);
      const running = await startReflectorService({
        id: flags.id,
        brokerUrl: flags.broker,
        cloudPublicKeyPem: readCloudPublicKey(flags.cloudKey),
        host: flags.host,
        probePort,
        log,
        ...(flags.user === undefined || flags.passwordFile === undefined ? {} : { username: flags.user, password: readPasswordFile(flags.passwordFile) }),
        ...(flags.brokerCa === undefined ? {} : { ca: readFileSync(flags.brokerCa) }),
        ...(flags.address === undefined ? {} : { announceAddress: flags.address }),
        ...(portRange ? { portRange } : {}),
      });
      process.stdout.write(`avcare reflector "${running.id}" started: probe port ${running.probePort}; waiting for the broker...\n`);
      await running.ready;
      process.stdout.write('connected to the broker; Ctrl-C stops.\n');
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          void running.stop().then(() => process.stdout.write('avcare reflector stopped\n'));
        });
      }
    });
}
