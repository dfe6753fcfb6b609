import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AvcareError, ROLES, untrustedText, type LoginResponse } from '../../protocol/index.js';
import type { Account } from '../accounts/accounts.js';
import { readPasswordFile } from '../accounts/first-run.js';
import { generatePassword } from '../accounts/password-hash.js';
import { ACCEPTED_STORE_SPECS } from '../store/store-spec.js';
import { callApi, cloudUrl, forgetSession, osUserName, printResult, readSecret, readSession, sessionFile, withApiOptions, writeSession, type ApiFlags } from './cli-session.js';

interface CommonFlags extends ApiFlags {
  json?: boolean;
}

/** Tokens from `login` live 30 days: a person at a terminal signs in once a month, not every morning. */
const CLI_TOKEN_HOURS = 30 * 24;

const common = withApiOptions;

const print = printResult;

const safe = (text: string | null | undefined): string => (text === null || text === undefined ? '-' : (untrustedText(text, 200) ?? ''));

/** `login`, `logout`, `passwd`: a person's own session at the cloud. */
export function sessionCommands(): Command[] {
  const login = common(new Command('login'))
    .description('sign in and keep a token (30 days) for the other commands, readable by you only; the password is asked at the terminal, or read from standard input (one line; a one-time password and the new one on two), or from --password-file')
    .requiredOption('--user <name>', 'your account name')
    .option('--password-file <file>', 'read the password from the first line of this file')
    .option('--new-password-file <file>', 'signing in with a one-time password: the password you choose, from the first line of this file')
    .action(async (flags: CommonFlags & { user: string; passwordFile?: string; newPasswordFile?: string }) => {
      const url = cloudUrl(flags);
      const password = flags.passwordFile === undefined ? await readSecret(`password for ${flags.user} at ${url}: `) : readPasswordFile(flags.passwordFile);
      const answer = await callApi<LoginResponse>(flags, 'POST', '/api/auth/login', { name: flags.user, password, ttlHours: CLI_TOKEN_HOURS, label: 'avcare-cloud CLI' }, { anonymous: true });
      if (answer.account.mustChangePassword) {
        // Until the new password is set the token can do nothing else: keep it only once that worked, and end it otherwise.
        try {
          process.stderr.write('This password was set for you and must be replaced now.\n');
          const next = flags.newPasswordFile === undefined ? await readSecret('new password (at least 8 characters): ') : readPasswordFile(flags.newPasswordFile);
          const again = process.stdin.isTTY && flags.newPasswordFile === undefined ? await readSecret('new password again: ') : next;
          if (next !== again) throw new AvcareError('INVALID_ARGUMENT', 'the two new passwords differ; run login again');
          await callApi(flags, 'POST', '/api/auth/password', { currentPassword: password, newPassword: next }, { token: answer.token });
        } catch (error) {
          await callApi(flags, 'POST', '/api/auth/logout', undefined, { token: answer.token }).catch(() => undefined);
          throw error;
        }
      }
      writeSession({ url, token: answer.token, tokenId: answer.tokenId, name: answer.account.name, expiresAt: answer.expiresAt, ...(flags.ca === undefined ? {} : { caFile: flags.ca }) });
      const { token: _token, ...shown } = answer;
      print(flags, { ...shown, sessionFile: sessionFile() }, () => `signed in to ${url} as ${answer.account.name} (${answer.account.role.replace('_', ' ')}) until ${answer.expiresAt}\n`);
    });

  const logout = common(new Command('logout'))
    .description('revoke the stored token at the cloud and forget it here')
    .action(async (flags: CommonFlags) => {
      const session = readSession();
      if (!session) {
        process.stdout.write('not signed in\n');
        return;
      }
      await callApi(flags, 'POST', '/api/auth/logout').catch((error: unknown) => {
        // An expired or already revoked token: forgetting it here is all that is left to do.
        if (!(error instanceof AvcareError && error.code === 'UNAUTHENTICATED')) throw error;
      });
      forgetSession();
      process.stdout.write(`signed out of ${session.url}\n`);
    });

  const passwd = common(new Command('passwd'))
    .description('change your own password (your other sessions are signed out)')
    .action(async (flags: CommonFlags) => {
      const current = await readSecret('current password: ');
      const next = await readSecret('new password (at least 8 characters): ');
      const again = process.stdin.isTTY ? await readSecret('new password again: ') : next;
      if (next !== again) throw new AvcareError('INVALID_ARGUMENT', 'the two new passwords differ');
      await callApi(flags, 'POST', '/api/auth/password', { currentPassword: current, newPassword: next });
      process.stdout.write('password changed\n');
    });

  return [login, logout, passwd];
}

/** `users add|list|disable|enable|passwd`: operators for everyone, school admins for their school. */
export function usersCommand(): Command {
  const users = new Command('users').description('accounts of people: add, list, disable, enable, reset a password');

  common(users.command('add'))
    .description('create an account; without --password-stdin a one-time password is printed once')
    .argument('<name>', 'login name')
    .addOption(new Option('--role <role>', 'what the account may do').choices([...ROLES]).makeOptionMandatory())
    .option('--school <id>', 'the school of a school_admin or it_teacher')
    .option('--team <id>', 'the service team of an engineer')
    .option('--password-stdin', 'read the password from standard input instead of generating a one-time one')
    .action(async (name: string, flags: CommonFlags & { role: string; school?: string; team?: string; passwordStdin?: boolean }) => {
      const password = flags.passwordStdin ? await readSecret('password: ') : undefined;
      const body = { name, role: flags.role, ...(flags.school === undefined ? {} : { school: flags.school }), ...(flags.team === undefined ? {} : { team: flags.team }), ...(password === undefined ? {} : { password }) };
      const answer = await callApi<{ user: Account; oneTimePassword?: string }>(flags, 'POST', '/api/users', body);
      print(flags, answer, () => describeCreated(answer.user, answer.oneTimePassword));
    });

  common(users.command('list'))
    .description('accounts you manage')
    .action(async (flags: CommonFlags) => {
      const answer = await callApi<{ users: Account[] }>(flags, 'GET', '/api/users');
      print(flags, answer, () => renderUsers(answer.users));
    });

  for (const [verb, path, description] of [
    ['disable', 'disable', 'disable an account: it cannot sign in and its tokens stop working at once'],
    ['enable', 'enable', 'enable a disabled account again'],
  ] as const) {
    common(users.command(verb))
      .description(description)
      .argument('<name>', 'login name')
      .action(async (name: string, flags: CommonFlags) => {
        const answer = await callApi<{ user: Account }>(flags, 'POST', `/api/users/${encodeURIComponent(name)}/${path}`);
        print(flags, answer, () => `${answer.user.name} is now ${answer.user.disabled ? 'disabled' : 'enabled'}\n`);
      });
  }

  common(users.command('passwd'))
    .description("reset someone's password: a one-time password is printed once (or give one with --password-stdin); they choose their own at the next sign-in")
    .argument('<name>', 'login name')
    .option('--password-stdin', 'read the new password from standard input')
    .action(async (name: string, flags: CommonFlags & { passwordStdin?: boolean }) => {
      const password = flags.passwordStdin ? await readSecret('new password: ') : undefined;
      const answer = await callApi<{ user: Account; oneTimePassword?: string }>(flags, 'POST', `/api/users/${encodeURIComponent(name)}/password`, password === undefined ? {} : { password });
      print(flags, answer, () =>
        answer.oneTimePassword === undefined
          ? `password of ${answer.user.name} reset; their sessions were signed out\n`
          : `one-time password of ${answer.user.name} (shown only now; they choose their own at the next sign-in):\n\n    ${answer.oneTimePassword}\n\n`,
      );
    });

  users
    .command('recover')
    .description("on the cloud's own machine, when no one can sign in any more: set a one-time password for NAME directly in the database (audited as local:YOUR-OS-USER)")
    .argument('<name>', 'login name, e.g. operator')
    .option('--data <dir>', "the cloud's data folder (default ./avcare-data)", './avcare-data')
    .option('--db <spec>', `the cloud's database: ${ACCEPTED_STORE_SPECS} (default sqlite:<data>/avcare.db)`)
    .action(async (name: string, flags: { data: string; db?: string }) => {
      // The database drivers only for this command, which runs on the cloud's machine: the others call the API.
      const [{ openStore }, { Accounts }, { AuditLog }] = await Promise.all([import('../store/open-store.js'), import('../accounts/accounts.js'), import('../audit/audit-log.js')]);
      const dataDir = resolve(flags.data);
      const store = await openStore(flags.db ?? `sqlite:${join(dataDir, 'avcare.db')}`, { dataDir, existing: true });
      try {
        const accounts = new Accounts({ db: store.database, audit: new AuditLog(store.database) });
        const account = await accounts.byName(name);
        if (!account) throw new AvcareError('ACCOUNT_NOT_FOUND', `no account "${name}" in this database`);
        const password = generatePassword();
        await accounts.setPassword(account.id, password, { mustChange: true }, { actor: `local:${osUserName()}`, source: null });
        if (account.disabled) await accounts.setDisabled(account.id, false, { actor: `local:${osUserName()}`, source: null });
        process.stdout.write(`one-time password of ${account.name} (shown only now; choose your own at the next sign-in):\n\n    ${password}\n\n`);
      } finally {
        await store.close();
      }
    });

  return users;
}

function describeCreated(user: Account, oneTimePassword: string | undefined): string {
  const scope = user.schoolId ?? user.teamId;
  const head = `created ${user.name} (${user.role.replace('_', ' ')}${scope === null ? '' : ` of ${scope}`})\n`;
  if (oneTimePassword === undefined) return head;
  return `${head}one-time password (shown only now; they choose their own at the first sign-in):\n\n    ${oneTimePassword}\n\n`;
}

function renderUsers(users: readonly Account[]): string {
  if (users.length === 0) return 'no accounts\n';
  const rows = users.map((user) => [safe(user.name), user.role, user.schoolId ?? user.teamId ?? '-', user.disabled ? 'disabled' : user.mustChangePassword ? 'must change password' : 'active', user.createdAt.slice(0, 10)]);
  return table(['NAME', 'ROLE', 'SCOPE', 'STATE', 'CREATED'], rows);
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
