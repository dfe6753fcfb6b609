import { pino, type Logger } from 'pino';

export type { Logger };

/** Anything that may hold a secret is redacted before it reaches a log line. */
export const REDACT_PATHS = ['password', '*.password', '*[*].password', 'config.pjlink[*].password', 'authorization', '*.authorization', 'token', '*.token', 'secret', '*.secret'];

/** A second destination that keeps recent log lines (the agent's recent log for teachers' reports). */
export interface LogTap {
  stream(): { write(chunk: string): void };
}

export interface LoggerOptions {
  level?: string;
  destination?: NodeJS.WritableStream;
  /**
   * Also keeps info and above here, whatever `level` the console gets, so a teacher's report can
   * carry what the agent did even when the console shows only warnings.
   */
  recent?: LogTap;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.AVCARE_LOG_LEVEL ?? 'info';
  const redact = { paths: REDACT_PATHS, censor: '[redacted]' };
  // Logs go to stderr so that stdout stays clean for `--json` output.
  const destination = (options.destination ?? process.stderr) as pino.DestinationStream;
  if (!options.recent) return pino({ level, redact }, destination);
  // 'silent' has no numeric value: the console then gets nothing and the recent log still does.
  const consoleLevel = pino.levels.values[level];
  const infoLevel = pino.levels.values.info ?? 30;
  const streams = pino.multistream([
    ...(consoleLevel === undefined ? [] : [{ level: consoleLevel, stream: destination }]),
    { level: infoLevel, stream: options.recent.stream() },
  ]);
  return pino({ level: consoleLevel !== undefined && consoleLevel < infoLevel ? level : 'info', redact }, streams);
}

/** A logger that drops everything: for tests and for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
