import { execFile } from 'node:child_process';

/** What running an optional OS tool (v4l2-ctl, amixer) gave. */
export type CommandOutput =
  | { readonly status: 'ok'; readonly stdout: string }
  | { readonly status: 'not-installed' }
  | { readonly status: 'failed'; readonly reason: string };

export type RunCommand = (file: string, args: readonly string[], signal: AbortSignal) => Promise<CommandOutput>;

/** open() on a wedged UVC camera can block; a stuck v4l2-ctl must not eat the whole probe timeout. */
const COMMAND_TIMEOUT_MS = 3000;
const COMMAND_MAX_OUTPUT_BYTES = 1024 * 1024;

/**
 * Runs a tool without a shell. LC_ALL=C because v4l-utils and alsa-utils ship translations and a
 * classroom PC set to zh_CN would otherwise print labels the parsers do not know. A slower tool
 * (PowerShell starts in a second or two) gets its own runner with a longer timeout.
 */
export function commandRunner(timeoutMs = COMMAND_TIMEOUT_MS): RunCommand {
  return (file, args, signal) =>
    new Promise((resolve) => {
      execFile(
        file,
        [...args],
        { signal, timeout: timeoutMs, maxBuffer: COMMAND_MAX_OUTPUT_BYTES, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
        (error, stdout) => {
          if (error === null) resolve({ status: 'ok', stdout });
          else if (error.code === 'ENOENT') resolve({ status: 'not-installed' });
          else resolve({ status: 'failed', reason: error.message });
        },
      );
    });
}

export const runInstalledCommand: RunCommand = commandRunner();
