/**
 * The README's walk-through, run as written: the block under "The first hour" is read from
 * README.md and each of its commands run in a shell from the clone, one after the other, as the
 * operator, the school admin, the engineer and the IT teacher would type them. The only changes
 * are where a person would differ from a test: free ports instead of 8080 and 1883, a temporary
 * data folder and home, the passwords typed at the prompts, and the values printed along the way
 * (AGENT, SESSION) filled in.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { eventually, oneTimePassword } from './cloud-process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The commands of the walk-through block, in order (comments and blank lines left out). */
function walkThrough(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The first hour at the terminal'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no shell block under "The first hour at the terminal"');
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

describe('the first hour, as the README walks it through', () => {
  const work = mkdtempSync(join(tmpdir(), 'avcare-first-hour-'));
  const home = join(work, 'home');
  // Everyone's own folders are the test's: nothing of the machine's user is read or written.
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_STATE_HOME: join(home, '.local', 'state'), XDG_CONFIG_HOME: join(home, '.config'), AVCARE_LOG_LEVEL: 'warn', LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
  for (const name of ['AVCARE_TOKEN', 'AVCARE_CLOUD_URL', 'AVCARE_SESSION_FILE', 'STATE_DIRECTORY', 'AVCARE_CONFIG']) delete env[name];
  let stack: ChildProcess | undefined;
  let stackOut = '';

  afterAll(async () => {
    // The stack runs as bash -> npm -> node: its whole process group is stopped (Ctrl-C stops a terminal's group alike).
    const pid = stack?.pid;
    if (stack && pid !== undefined && stack.exitCode === null) {
      const exited = new Promise((done) => stack?.once('exit', done));
      process.kill(-pid, 'SIGTERM');
      await Promise.race([exited, new Promise((done) => setTimeout(done, 20_000))]);
      try {
        process.kill(-pid, 'SIGKILL');
      } catch (error) {
        // ESRCH: the group is gone already, as it should be.
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
  });

  function shell(line: string, input: string): Promise<Ran> {
    return new Promise((done) => {
      const child = spawn('bash', ['-c', line], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      // 'close', not 'exit': output still in the pipes when the process exits is read before the result is taken.
      child.once('close', (code) => {
        clearTimeout(timer);
        done({ code: code ?? 1, stdout, stderr });
      });
      child.stdin.end(input);
    });
  }

  it('runs every command of the walk-through, each person seeing what the README says they will', { timeout: 600_000 }, async () => {
    const commands = walkThrough();
    const [start, ...rest] = commands;
    expect(start).toBe('npm install && npm start -- --service test/fixtures/service/example-service.json');

    // Terminal 1. `npm install` has run (npm test runs in an installed clone); ports and data are the test's.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const started = (start ?? '').replace('npm install && ', '');
    stack = spawn('bash', ['-c', `${started} --data ${join(work, 'avcare-data')} --port ${port} --mqtt-port 0`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    stack.stdout?.on('data', (chunk: Buffer) => (stackOut += chunk.toString()));
    stack.stderr?.on('data', (chunk: Buffer) => (stackOut += chunk.toString()));
    await eventually(() => Promise.resolve(stackOut.includes('Ctrl-C stops both') ? true : undefined), 90_000, `npm start to be up:\n${stackOut}`);
    expect(stackOut).toContain('service   ');
    expect(stackOut).toContain('example-service.json (1 teams, 2 schools, 2 regions)');
    expect(stackOut).toContain(`Sign in: npx avcare-cloud login --url ${url} --user operator`);
    const agentId = /This PC's agent sch-1:(\S+) is enrolled in school "sch-1"/.exec(stackOut)?.[1] ?? '';
    expect(agentId).not.toBe('');

    const passwords = new Map<string, string>([['operator', oneTimePassword(stackOut)]]);
    let session = '';
    for (const written of rest) {
      if (written.startsWith('export ')) {
        const [name = '', value = ''] = written.slice('export '.length).split('=');
        env[name] = value.replace(/^~/, home);
        continue;
      }
      const line = written.replaceAll('http://127.0.0.1:8080', url).replaceAll('AGENT', agentId).replaceAll('SESSION', session).replace('> audit.csv', `> ${join(work, 'audit.csv')}`);
      const user = /login --url \S+ --user (\S+)/.exec(line)?.[1];
      // At the login prompts: the one-time password, then the person's own.
      const input = user ? `${passwords.get(user) ?? ''}\n${user}'s own passphrase\n` : '';
      const ran = line.endsWith('tickets list') ? await eventually(async () => {
        const listed = await shell(line, input);
        return listed.stdout.includes('flickers') ? listed : undefined;
      }, 30_000, 'the reported problem as a ticket') : await shell(line, input);
      const said = `${written}\nexit ${ran.code}\nstdout:\n${ran.stdout}\nstderr:\n${ran.stderr}`;
      // doctor exits 1 on a machine without a USB bus (this one): that is a fact of the machine, asserted below.
      if (!line.endsWith('doctor')) expect(ran.code, said).toBe(0);

      if (line.includes('users add')) {
        const name = /users add (\S+)/.exec(line)?.[1] ?? '';
        passwords.set(name, /\n\n {4}(\S{20})\n/.exec(ran.stdout)?.[1] ?? '');
      } else if (user) {
        expect(ran.stdout, said).toContain(`signed in to ${url} as ${user}`);
      } else if (line.includes('agents list')) {
        expect(ran.stdout, said).toMatch(new RegExp(`^sch-1:${agentId}\\s`, 'm'));
      } else if (line.includes('session request')) {
        session = /^(\S{36})\s+PENDING/.exec(ran.stdout)?.[1] ?? '';
        expect(session, said).not.toBe('');
        expect(ran.stdout, said).toContain(`npx avcare-cloud session show ${session}`);
      } else if (line.endsWith('consent list')) {
        expect(ran.stdout, said).toContain('engineer engineer-wang (team east): front camera shows nothing');
        expect(ran.stdout, said).toContain(`npx avcare-agent consent approve ${session}`);
      } else if (line.includes('consent approve')) {
        expect(ran.stdout, said).toMatch(/approved by pc:\S+ until/);
      } else if (line.endsWith('reprobe')) {
        expect(ran.stdout, said).toMatch(/reprobe {2}OK {2}sent \S+ {2}finished \S+ \(after [\d.]+ s\)/);
        expect(ran.stdout, said).toMatch(/sources:\n\s+system\s+ok/);
      } else if (line.endsWith('health-snapshot')) {
        expect(ran.stdout, said).toMatch(/CPU \d+ cores at \d+% load/);
      } else if (line.includes('report')) {
        expect(ran.stdout, said).toContain('Your report was sent');
      } else if (line.includes('audit export')) {
        const csv = readFileSync(join(work, 'audit.csv'), 'utf8');
        expect(csv.split('\n')[0]).toBe('seq,at,actor,action,target,outcome,source,schoolId,detail,prevHash,hash');
        expect(csv).toContain('session.approve');
        expect(csv).not.toMatch(/,sch-2,/);
      } else if (line.endsWith('doctor')) {
        // doctor agrees with what npm start printed: this PC is enrolled, by npm start, in sch-1.
        expect(ran.stdout, said).toMatch(new RegExp(`ok\\s+Enrollment\\s+the agent npm start enrolled, in \\S+ \\(running\\): enrolled as sch-1:${agentId}`));
        expect(ran.stdout, said).not.toContain('not enrolled');
        // Trying avcare with npm start needs no service user: not a warning about an installation that is not meant to be there.
        expect(ran.stdout, said).toMatch(/ok\s+Service user avcare\s+not installed as a service: this PC runs the agent npm start enrolled/);
        expect(ran.stdout, said).toMatch(/ok\s+State directory\s+\S+avcare-data\/agent-state is writable/);
      }
    }
    expect(session).not.toBe('');
  });
});
