/**
 * A whole installation for the console's browser tests: the cloud (embedded broker, SQLite) with
 * two schools served by one team, people of every role, and a real `avcare-agent run` enrolled in
 * school 1 whose projector (named like an attack) does not answer, so it raises a real fault.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloud, type RunningCloud } from '../../cloud/main.js';
import { postJson, signIn } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { CLI, runCli } from '../helpers/run-cli.js';
import { TEST_SCRYPT } from '../helpers/security.js';

export const XSS_NAME = '<img src=x onerror=alert(1)>';
export const PEOPLE = {
  admin1: { name: 'admin-sch1', role: 'school_admin', school: 'sch-1', password: 'admin-sch1 passphrase' },
  teacher2: { name: 'teacher-sch2', role: 'it_teacher', school: 'sch-2', password: 'teacher-sch2 passphrase' },
  teacher1: { name: 'teacher-sch1', role: 'it_teacher', school: 'sch-1', password: 'teacher-sch1 passphrase' },
  engineer: { name: 'wang-engineer', role: 'engineer', team: 'team-hz', password: 'wang-engineer passphrase' },
} as const;

export interface Installation {
  cloud: RunningCloud;
  baseUrl: string;
  oneTimePassword: string;
  /** Set once the operator chose their own password (the first test does it in the browser). */
  operatorPassword: string;
  agentId: string;
  /** Once the operator has a password of their own: the people of every role, then the agent. */
  populate(operatorPassword: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startInstallation(): Promise<Installation> {
  const dir = mkdtempSync(join(tmpdir(), 'avcare-console-'));
  writeFileSync(
    join(dir, 'service.json'),
    JSON.stringify({
      regions: [{ id: 'hz', city: 'Hangzhou' }],
      teams: [{ id: 'team-hz', regions: ['hz'] }],
      schools: [
        {
          id: 'sch-1',
          name: '杭州第一中学',
          region: 'hz',
          rooms: { r101: { timetable: { timeZone: 'Asia/Shanghai', lessons: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '08:00', end: '08:45' })) } } },
        },
        { id: 'sch-2', name: 'Second School', region: 'hz' },
      ],
    }),
  );
  const cloud = await startCloud({
    host: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    dataDir: dir,
    serviceConfig: join(dir, 'service.json'),
    scryptCost: TEST_SCRYPT,
    reflector: { enabled: false },
    testSchedule: { enabled: false },
  });
  const baseUrl = cloud.httpUrl.replace(/\/$/, '');
  const oneTimePassword = cloud.firstRun.created ? cloud.firstRun.oneTimePassword : undefined;
  if (oneTimePassword === undefined) throw new Error('the cloud made no one-time password');
  const agent: { process?: ChildProcess } = {};
  const installation: Installation = {
    cloud,
    baseUrl,
    oneTimePassword,
    operatorPassword: '',
    agentId: '',
    async stop() {
      agent.process?.kill('SIGKILL');
      await cloud.stop();
    },
    async populate(operatorPassword: string): Promise<void> {
      installation.operatorPassword = operatorPassword;
      const operator = await signIn(baseUrl, 'operator', operatorPassword);
      for (const person of Object.values(PEOPLE)) {
        const made = await postJson(`${baseUrl}/api/users`, { name: person.name, role: person.role, password: person.password, ...('school' in person ? { school: person.school } : { team: person.team }) }, operator);
        if (made.status !== 200) throw new Error(`creating ${person.name}: ${JSON.stringify(made.body)}`);
      }
      const token = await postJson<{ token: string }>(`${baseUrl}/api/enroll-tokens`, { school: 'sch-1', uses: 1 }, operator);
      const stateDir = mkdtempSync(join(tmpdir(), 'avcare-console-agent-'));
      const enrolled = await runCli(['enroll', '--cloud', baseUrl, '--token', token.body.token, '--room', 'r101'], { stateHome: stateDir });
      const id = /agent (sch-1:\S+),/.exec(enrolled.stdout)?.[1];
      if (enrolled.code !== 0 || id === undefined) throw new Error(`enrolling the agent failed: ${enrolled.stdout}${enrolled.stderr}`);
      installation.agentId = id;
      const configFile = join(stateDir, 'agent-config.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          probeIntervalSeconds: 5,
          probeTimeoutSeconds: 2,
          hysteresis: { raiseAfterCycles: 1, clearAfterCycles: 1 },
          // Nothing listens there: the projector refuses, a real fault of a real agent.
          pjlink: [{ host: '127.0.0.1', port: await freePort(), name: XSS_NAME }],
        }),
      );
      agent.process = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, STATE_DIRECTORY: stateDir, AVCARE_CONFIG: configFile, AVCARE_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    },
  };
  return installation;
}
