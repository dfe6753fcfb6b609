/** `avcare-cloud reflectors add|list|revoke`: broker accounts for reflectors in their own process. */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { AvcareError, untrustedText } from '../../protocol/index.js';
import { table } from './account-commands.js';
import { callApi, printResult, withApiOptions, type ApiFlags } from './cli-session.js';
import type { ReflectorAccount } from '../identity/reflector-registry.js';

interface CommonFlags extends ApiFlags {
  json?: boolean;
}

interface Created {
  reflector: ReflectorAccount;
  secret: string;
  cloudPublicKey: string;
  brokerUrl: string;
}

/** Writes a file only this user reads, and never over an existing one (a secret lost that way cannot be recovered). */
function writeNewPrivateFile(path: string, text: string, flag: string): void {
  try {
    writeFileSync(path, text, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AvcareError('INVALID_ARGUMENT', `${flag} ${path}: ${code === 'EEXIST' ? 'the file exists; give a new file' : (error as Error).message}`);
  }
}

export function reflectorsCommand(): Command {
  const command = new Command('reflectors').description('broker accounts of reflectors run in their own process: add one, list them, revoke one');

  withApiOptions(command.command('add'))
    .description("create a reflector's broker account; its secret is given this once")
    .argument('<id>', 'the reflector\'s name, as `avcare-cloud reflector --id` and `start --agents-reflector` use it')
    .option('--password-file <file>', 'write the secret to this new file (mode 600) instead of printing it')
    .option('--cloud-key-file <file>', "write the cloud's public key (PEM) to this new file, for the reflector's --cloud-key")
    .action(async (id: string, flags: CommonFlags & { passwordFile?: string; cloudKeyFile?: string }) => {
      const answer = await callApi<Created>(flags, 'POST', '/api/reflectors', { id });
      if (flags.passwordFile !== undefined) writeNewPrivateFile(flags.passwordFile, `${answer.secret}\n`, '--password-file');
      if (flags.cloudKeyFile !== undefined) writeNewPrivateFile(flags.cloudKeyFile, answer.cloudPublicKey, '--cloud-key-file');
      const shown = flags.passwordFile === undefined ? answer : { ...answer, secret: `(written to ${flags.passwordFile})` };
      printResult(flags, shown, () =>
        [
          `reflector account ${answer.reflector.id}: broker user ${answer.reflector.username}, client id ${answer.reflector.clientId}`,
          flags.passwordFile === undefined ? `secret (shown only now): ${answer.secret}` : `secret written to ${flags.passwordFile}`,
          ...(flags.cloudKeyFile === undefined ? ["cloud's public key (for --cloud-key):", answer.cloudPublicKey.trimEnd()] : [`cloud's public key written to ${flags.cloudKeyFile}`]),
          '',
          'On the reflector host:',
          '',
          `    avcare-cloud reflector --broker ${answer.brokerUrl} --id ${answer.reflector.id} --user ${answer.reflector.username} --password-file ${flags.passwordFile ?? 'SECRET_FILE'} --cloud-key ${flags.cloudKeyFile ?? 'CLOUD_KEY_FILE'}`,
          '',
          `and start the cloud with --agents-reflector ${answer.reflector.id} to send agents there.`,
          '',
        ].join('\n'),
      );
    });

  withApiOptions(command.command('list'))
    .description('reflector accounts, active ones unless --revoked')
    .option('--revoked', 'list revoked accounts too')
    .action(async (flags: CommonFlags & { revoked?: boolean }) => {
      const answer = await callApi<{ reflectors: ReflectorAccount[] }>(flags, 'GET', `/api/reflectors${flags.revoked ? '?revoked=true' : ''}`);
      printResult(flags, answer, () => renderReflectors(answer.reflectors));
    });

  withApiOptions(command.command('revoke'))
    .description('revoke a reflector account: the broker drops its connection now and refuses its secret from now on')
    .argument('<id>', 'the reflector id as listed')
    .action(async (id: string, flags: CommonFlags) => {
      const answer = await callApi<{ reflector: ReflectorAccount }>(flags, 'POST', `/api/reflectors/${encodeURIComponent(id)}/revoke`);
      printResult(flags, answer, () => `reflector ${answer.reflector.id} is revoked\n`);
    });

  return command;
}

function renderReflectors(reflectors: readonly ReflectorAccount[]): string {
  if (reflectors.length === 0) return 'no reflector accounts\n';
  return table(
    ['REFLECTOR', 'BROKER USER', 'CREATED (UTC)', 'BY', 'STATE'],
    reflectors.map((reflector) => [reflector.id, reflector.username, reflector.createdAt.slice(0, 16).replace('T', ' '), untrustedText(reflector.createdBy, 60) ?? '-', reflector.revokedAt === null ? 'active' : `revoked ${reflector.revokedAt.slice(0, 10)}`]),
  );
}
