import { pino, type Logger } from 'pino';

export type { Logger };

/** Anything that may hold a secret is redacted before it reaches a log line. */
export const REDACT_PATHS = ['password', '*.password', '*[*].password', 'config.pjlink[*].password', 'authorization', '*.authorization'];

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    { level: options.level ?? process.env.AVCARE_LOG_LEVEL ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    // Logs go to stderr so that stdout stays clean for `--json` output.
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that drops everything: for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
