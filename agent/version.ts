import { readFileSync } from 'node:fs';

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

export const AGENT_VERSION = readVersion();
