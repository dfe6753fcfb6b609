import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../cloud/store/open-store.js';
import { CLOUD_CLI, DEV_STACK, eventually, getJson, oneTimePassword, runNodeEntry, signIn, type RunningProcess } from './cloud-process.js';

const running: RunningProcess[] = [];
const blockers: Server[] = [];

afterEach(async () => {
  for (const stack of running.splice(0)) stack.kill();
  for (const blocker of blockers.splice(0)) await new Promise<void>((done) => blocker.close(() => done()));
});

/** Holds the port on 127.0.0.1 unless something else already does: either way the default is taken. */
async function makeSureTaken(port: number): Promise<void> {
  await new Promise<void>((resolveTaken) => {
    const server = createServer();
    server.once('error', () => resolveTaken());
    server.listen(port, '127.0.0.1', () => {
      blockers.push(server);
      resolveTaken();
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

// Needs the agent's `run --broker` transport (agent/transport/): it is the agent child that makes a PC appear.
describe('npm start (dist/cloud/cli/dev-stack.js)', () => {
  it('falls back to free ports when 8080 and 1883 are taken, shows this PC\'s agent in the API, and stops both on SIGTERM', { timeout: 60_000 }, async () => {
    await makeSureTaken(8080);
    await makeSureTaken(1883);
    const stack = runNodeEntry(DEV_STACK, [], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    running.push(stack);

    const [, apiUrl] = (await stack.waitForOutput(/API +(http:\/\/\S+\/api\/agents)/)) as [string, string];
    await stack.waitForOutput(/Ctrl-C stops both/);
    expect(apiUrl).not.toContain(':8080/');
    expect(stack.stdout()).toMatch(/note: port 8080 is already in use: the HTTP API took \d+ instead/);
    expect(stack.stdout()).toMatch(/note: port 1883 is already in use \(another MQTT broker\?\): the embedded broker took \d+ instead/);
    // It made an operator and says how to sign in, then enrolled this PC's agent like any PC.
    const baseUrl = apiUrl.replace(/\/api\/agents$/, '');
    // Printed the way it runs from where the stack was started (here a folder outside the clone: node and the path).
    expect(stack.stdout()).toContain(`Sign in: node ${CLOUD_CLI} login --url ${baseUrl} --user operator`);
    // The banner points at the console (npm test builds it) and at the API's index, which moved to /api.
    expect(stack.stdout()).toContain(`console   ${baseUrl}/   (open it in a browser and sign in)`);
    expect(stack.stdout()).toContain(`index     ${baseUrl}/api   (the API's routes as JSON, signed in)`);
    expect(stack.stdout()).toContain(`     or: open ${baseUrl}/ in a browser and sign in as operator`);
    expect(stack.stdout()).toMatch(/This PC's agent local:\S+ is enrolled in school "local"./);
    expect((await getJson(apiUrl)).status).toBe(401);
    const token = await signIn(baseUrl, 'operator', oneTimePassword(stack.stdout()));

    const agents = await eventually(
      async () => {
        const { body } = await getJson<{ agents: { id: string; state: string }[] }>(apiUrl, token);
        return body.agents.some((agent) => agent.state === 'online') ? body.agents : undefined;
      },
      30_000,
      'this PC\'s agent to appear online in GET /api/agents',
    );
    expect(agents).toHaveLength(1);
    expect(agents[0]?.id).toMatch(/^local:/);
    const enrolled = (await getJson<{ agents: { id: string }[] }>(`${baseUrl}/api/enrolled-agents`, token)).body.agents;
    expect(enrolled.map((agent) => agent.id)).toEqual([agents[0]?.id]);
    // The agent prints its readable output through the stack's terminal.
    expect(stack.stdout()).toMatch(/avcare agent .*probing every/);

    const agentPids = execFileSync('pgrep', ['-P', String(stack.child.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(agentPids).toHaveLength(1);
    stack.child.kill('SIGTERM');
    expect(await stack.exited).toBe(0);
    expect(agentPids.filter(isAlive)).toEqual([]);
    expect(stack.stdout()).toContain('avcare stopped (cloud and agent)');

    // The agent was stopped before the cloud: its own "offline, stopped" reached the database.
    const store = await openStore(`sqlite:${join(stack.cwd, 'avcare-data', 'avcare.db')}`);
    try {
      const [agent] = await store.listAgents();
      expect(agent).toMatchObject({ state: 'offline', stateReason: 'stopped' });
    } finally {
      await store.close();
    }
  });
});
