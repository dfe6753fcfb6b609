import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeLocalStack } from '../protocol/local-stack.js';
import { locateStateDir, resolveStateDir } from './state-dir.js';

function enrolledDir(parent: string, name: string): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'identity.json'), '{}');
  return dir;
}

describe('where the PC-side commands find the agent', () => {
  const home = (): { env: NodeJS.ProcessEnv; root: string } => {
    const root = mkdtempSync(join(tmpdir(), 'avcare-locate-'));
    return { root, env: { XDG_STATE_HOME: join(root, 'state') } };
  };

  it('takes the configured or the service state directory as given', () => {
    const { env } = home();
    expect(locateStateDir({ stateDir: '/srv/avcare' }, env, 1000)).toEqual({ dir: '/srv/avcare', via: 'config', searched: ['/srv/avcare'] });
    expect(locateStateDir({}, { ...env, STATE_DIRECTORY: '/var/lib/avcare' }, 1000)).toMatchObject({ dir: '/var/lib/avcare', via: 'environment' });
  });

  it('finds the agent npm start enrolled when this user has none of their own, and says where it looked', () => {
    const { env, root } = home();
    const stack = enrolledDir(root, 'avcare-data/agent-state');
    writeLocalStack({ version: 1, stateDir: stack, cloudUrl: 'http://127.0.0.1:8080', pid: process.pid, startedAt: new Date().toISOString() }, env);
    const own = resolveStateDir({}, env, 1000);
    expect(locateStateDir({}, env, 1000)).toEqual({
      dir: stack,
      via: 'local-stack',
      searched: [own, stack],
      localStack: expect.objectContaining({ stateDir: stack, running: true }) as unknown,
    });
  });

  it('prefers an agent enrolled in the user\'s own state directory over the stack', () => {
    const { env, root } = home();
    const stack = enrolledDir(root, 'stack');
    writeLocalStack({ version: 1, stateDir: stack, cloudUrl: 'http://127.0.0.1:8080', pid: process.pid, startedAt: new Date().toISOString() }, env);
    const own = resolveStateDir({}, env, 1000);
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, 'identity.json'), '{}');
    expect(locateStateDir({}, env, 1000)).toEqual({ dir: own, via: 'installed', searched: [own] });
  });

  it('with nothing enrolled anywhere, names every place it looked', () => {
    const { env, root } = home();
    const gone = join(root, 'no-longer-there');
    writeLocalStack({ version: 1, stateDir: gone, cloudUrl: 'http://127.0.0.1:8080', pid: 2_147_483_646, startedAt: new Date().toISOString() }, env);
    const own = resolveStateDir({}, env, 1000);
    expect(locateStateDir({}, env, 1000)).toEqual({ dir: own, via: 'installed', searched: [own, gone] });
    expect(locateStateDir({}, { XDG_STATE_HOME: join(root, 'elsewhere') }, 1000).searched).toHaveLength(1);
  });
});
