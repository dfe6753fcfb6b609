import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The built CLI, exactly as installed users run it: `npm test` builds it first. */
export const CLI = resolve(import.meta.dirname, '../../dist/agent/cli.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs avcare-agent with its state kept in a temporary folder, never in the developer's home or,
 * as root, in /var/lib/avcare (STATE_DIRECTORY wins over both, as under systemd).
 */
export function runCli(args: string[], options: { stateHome?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
  const stateHome = options.stateHome ?? mkdtempSync(join(tmpdir(), 'avcare-cli-state-'));
  return new Promise((resolvePromise) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        timeout: options.timeoutMs ?? 30_000,
        // English unless a test asks for another language: the developer's own locale must not change what is asserted.
        env: { ...process.env, LC_ALL: '', LC_MESSAGES: '', LANG: 'C.UTF-8', XDG_STATE_HOME: stateHome, STATE_DIRECTORY: stateHome, AVCARE_CONFIG: '', AVCARE_LOG_LEVEL: 'warn', ...options.env },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

export function writeConfig(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'avcare-cli-config-')), 'agent.json');
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return file;
}
