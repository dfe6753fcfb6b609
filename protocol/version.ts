import { readFileSync } from 'node:fs';

/** Version of every message schema in this folder. Bump on a breaking change; the cloud rejects unknown versions. */
export const SCHEMA_VERSION = 1 as const;

/** Read from package.json so a release bump needs one edit; works from both source and dist/. */
function readVersion(): string {
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'avcare' && typeof parsed.version === 'string') return parsed.version;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return '0.0.0-unknown';
}

/** The product's version, shared by the agent and the cloud. */
export const AVCARE_VERSION = readVersion();
