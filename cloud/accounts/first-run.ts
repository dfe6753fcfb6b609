import { readFileSync } from 'node:fs';
import { AvcareError } from '../../protocol/index.js';
import type { Accounts } from './accounts.js';
import { generatePassword } from './password-hash.js';

export const FIRST_OPERATOR_NAME = 'operator';

export type FirstRun = { created: false } | { created: true; name: string; oneTimePassword?: string };

/**
 * A cloud with no account yet gets an operator, so that someone can sign in at all: with the
 * password from `--admin-password-file`, or with a generated one-time password that is returned
 * (printed once by the caller, never logged) and must be changed at the first sign-in. Two
 * processes starting on an empty database race on the unique name: the loser creates nothing.
 */
export async function ensureFirstOperator(accounts: Accounts, options: { passwordFile?: string; actor?: string } = {}): Promise<FirstRun> {
  if ((await accounts.count()) > 0) return { created: false };
  const fromFile = options.passwordFile === undefined ? undefined : readPasswordFile(options.passwordFile);
  const password = fromFile ?? generatePassword();
  try {
    await accounts.create(
      { name: FIRST_OPERATOR_NAME, role: 'operator', password, mustChangePassword: fromFile === undefined },
      { actor: options.actor ?? 'system', source: null },
    );
  } catch (error) {
    if (error instanceof AvcareError && error.code === 'ACCOUNT_EXISTS') return { created: false };
    throw error;
  }
  return fromFile === undefined ? { created: true, name: FIRST_OPERATOR_NAME, oneTimePassword: password } : { created: true, name: FIRST_OPERATOR_NAME };
}

/** The first line of the file, without its line end: how password files are usually written. */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read the password file ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password.length === 0) throw new AvcareError('INVALID_ARGUMENT', `the password file ${path} is empty: put the password on its first line`, { path });
  return password;
}
