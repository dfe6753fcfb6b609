import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { AvcareError } from '../../protocol/index.js';
import { EMPTY_SERVICE_CONFIG, loadServiceConfig, parseServiceConfig, type ServiceConfig } from './service-config.js';

/**
 * Which service configuration a start uses, and why. Teams' scopes, routing and SLA contracts all
 * come from it, so a restart on the same data that merely forgot `--service` must not silently
 * drop them: each start with `--service FILE` records what it read in the data folder, and a later
 * start without it goes on with that record (and says so).
 */
export interface ServiceChoice {
  config: ServiceConfig;
  /** given: --service this time; recorded: the copy an earlier start kept; none: no configuration at all. */
  origin: 'given' | 'recorded' | 'none';
  /** The file it was read from (for recorded: the one the earlier start was given). */
  source?: string;
  recordedAt?: string;
  /** The data folder's copy. */
  recordFile: string;
}

const recordSchema = z.strictObject({ version: z.literal(1), source: z.string(), recordedAt: z.iso.datetime(), config: z.unknown() });

export function serviceRecordFile(dataDir: string): string {
  return join(dataDir, 'service-config.recorded.json');
}

export function chooseServiceConfig(given: string | undefined, dataDir: string, now: () => Date = () => new Date()): ServiceChoice {
  const recordFile = serviceRecordFile(dataDir);
  if (given !== undefined) {
    const source = resolve(given);
    const config = loadServiceConfig(source);
    const recordedAt = now().toISOString();
    // Written whole, then moved in place: a crash never leaves half a record for the next start.
    const temporary = `${recordFile}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify({ version: 1, source, recordedAt, config: JSON.parse(readFileSync(source, 'utf8')) as unknown }, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, recordFile);
    return { config, origin: 'given', source, recordedAt, recordFile };
  }
  let text: string;
  try {
    text = readFileSync(recordFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: EMPTY_SERVICE_CONFIG, origin: 'none', recordFile };
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read ${recordFile}, the service configuration an earlier start recorded: ${(error as Error).message}`, { file: recordFile }, { cause: error });
  }
  let record: z.infer<typeof recordSchema>;
  try {
    record = recordSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new AvcareError('CONFIG_INVALID', `${recordFile} (the service configuration an earlier start recorded) is damaged`, { file: recordFile }, {
      cause: error,
      hint: 'Start again with --service FILE to record it anew, or delete that file to run without a service configuration.',
    });
  }
  return { config: parseServiceConfig(record.config, `${recordFile} (recorded from ${record.source})`), origin: 'recorded', source: record.source, recordedAt: record.recordedAt, recordFile };
}
