/**
 * A remote session end to end, as it runs for a school: the built cloud with its embedded broker
 * enforcing agent identities, the built agent daemon enrolled with it and speaking VISCA to the
 * simulated camera on a pty pair. The engineer uses `avcare-cloud session ...`, the teacher
 * `avcare-agent consent ...`, the school admin watches the live stream and reads the audit log.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentSessionInbox, agentSessionTopic } from '../../protocol/remote-session.js';
import { CLOUD_CLI, connectAgent, enrollmentToken, enrollThroughApi, eventually, getJson, operatorPasswordFile, postJson, runNodeEntry, signIn, TEST_OPERATOR_PASSWORD } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { openPtyPair } from '../helpers/pty-pair.js';
import { CLI, runCli, writeConfig } from '../helpers/run-cli.js';
import { startViscaCamera } from '../sim/visca-camera.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

interface Session {
  id: string;
  state: string;
  answeredBy: string | null;
  scopes: string[];
}
interface Command {
  id: string;
  action: string;
  status: string;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

function serviceConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'avcare-service-')), 'service.json');
  writeFileSync(
    file,
    JSON.stringify({
      regions: [
        { id: 'hz', city: 'Hangzhou' },
        { id: 'far', city: 'Kashgar' },
      ],
      teams: [{ id: 'team-hz', regions: ['hz'] }, { id: 'team-far', regions: ['far'] }],
      schools: [
        { id: 'sch-1', region: 'hz', remoteSessions: { approvers: 'school-admin-or-pc', maxMinutes: 60 } },
        { id: 'sch-9', region: 'far' },
      ],
    }),
  );
  return file;
}

describe('a remote session through the cloud', () => {
  it('request, approval at the PC, a re-probe, a network test and a camera power cycle, live to the school, then revocation', async () => {
    const pair = await openPtyPair();
    cleanup.push(() => pair.close());
    const camera = await startViscaCamera(pair.b, { mode: 'on', address: 1 });
    cleanup.push(() => camera.close());

    const http = await freePort();
    const mqttPort = await freePort();
    const service = serviceConfig();
    const cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(http), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile(), '--service', service, '--no-test-schedule'], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    cleanup.push(() => cloud.kill());
    await cloud.waitForOutput(/Ctrl-C stops/);
    const baseUrl = `http://127.0.0.1:${http}`;
    const operator = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
    for (const user of [
      { name: 'wang-engineer', role: 'engineer', team: 'team-hz' },
      { name: 'far-engineer', role: 'engineer', team: 'team-far' },
      { name: 'li-admin', role: 'school_admin', school: 'sch-1' },
    ]) {
      const created = await postJson(`${baseUrl}/api/users`, { ...user, password: `${user.name} passphrase` }, operator);
      expect(created.status, JSON.stringify(created.body)).toBe(200);
    }
    const engineer = { AVCARE_CLOUD_URL: baseUrl, AVCARE_TOKEN: await signIn(baseUrl, 'wang-engineer', 'wang-engineer passphrase') };
    const admin = { AVCARE_CLOUD_URL: baseUrl, AVCARE_TOKEN: await signIn(baseUrl, 'li-admin', 'li-admin passphrase') };
    const farToken = await signIn(baseUrl, 'far-engineer', 'far-engineer passphrase');
    const cloudCli = async (args: string[], env: NodeJS.ProcessEnv) => {
      const run = runNodeEntry(CLOUD_CLI, args, { env });
      const code = await run.exited;
      return { code, stdout: run.stdout(), stderr: run.stderr() };
    };

    // The classroom PC: enrolled, its daemon running with the camera configured.
    const stateHome = mkdtempSync(join(tmpdir(), 'avcare-session-e2e-'));
    const enrolled = await runCli(['enroll', '--cloud', baseUrl, '--token', await enrollmentToken(baseUrl, 'sch-1'), '--room', 'r101'], { stateHome });
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const [, schoolId = '', agentId = ''] = /agent (\S+):(\S+),/.exec(enrolled.stdout) ?? [];
    const config = writeConfig({ serialPorts: [{ path: pair.a, protocol: 'visca', name: 'front camera' }], discoverSerialPorts: false, measure: { durationSeconds: 5 } });
    const daemon = spawn(process.execPath, [CLI, 'run'], { env: { ...process.env, STATE_DIRECTORY: stateHome, AVCARE_CONFIG: config, AVCARE_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'ignore'] });
    cleanup.push(() => {
      daemon.kill('SIGKILL');
    });
    await eventually(() => Promise.resolve(existsSync(join(stateHome, 'agent.sock')) ? true : undefined), 15_000, 'the control socket');
    await eventually(async () => ((await getJson<{ agents: Array<{ agentId: string; state: string }> }>(`${baseUrl}/api/agents`, admin.AVCARE_TOKEN)).body.agents.find((agent) => agent.agentId === agentId && agent.state === 'online') ? true : undefined), 20_000, 'the agent online');
    const consent = (args: string[]) => runCli(['consent', ...args], { stateHome, env: { AVCARE_CONFIG: config } });

    // An engineer whose team does not serve the school is refused, with the reason.
    const far = await postJson<{ error: { code: string; message: string } }>(`${baseUrl}/api/sessions`, { schoolId, agentId, reason: 'curious', scopes: ['reprobe'] }, farToken);
    expect(far.body.error).toEqual({ code: 'FORBIDDEN', message: `school ${schoolId} is not served by team team-far` });

    // The engineer asks.
    const requested = await cloudCli(['session', 'request', '--school', schoolId, '--agent', agentId, '--reason', 'the front camera in r101 shows nothing', '--scopes', 'reprobe,network-test,visca-power-cycle,camera-snapshot', '--json'], engineer);
    expect(requested.code, requested.stderr).toBe(0);
    const sessionId = (JSON.parse(requested.stdout) as { session: Session }).session.id;

    // The school admin watches live from here on.
    const stream = await fetch(`${baseUrl}/api/sessions/events?session=${sessionId}`, { headers: { authorization: `Bearer ${admin.AVCARE_TOKEN}` } });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    let live = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        live += Buffer.from(value as Uint8Array).toString('utf8');
      }
    })();
    cleanup.push(async () => {
      await reader.cancel().catch(() => undefined);
      await pump;
    });

    // ... and from a terminal: `session watch` follows the session until it ends.
    const watching = runNodeEntry(CLOUD_CLI, ['session', 'watch', sessionId], { env: admin });
    cleanup.push(() => watching.kill());

    // The teacher sees it at the PC, privacy scope named, and approves without it.
    const listed = await eventually(async () => {
      const result = await consent(['list']);
      return result.stdout.includes(sessionId) ? result.stdout : undefined;
    }, 20_000, 'the request at the PC');
    expect(listed).toContain('engineer wang-engineer (team team-hz): the front camera in r101 shows nothing');
    expect(listed).toContain('PRIVACY: camera-snapshot would see or hear the classroom');
    const approved = await consent(['approve', sessionId]);
    expect(approved.code, approved.stderr).toBe(0);
    const active = await eventually(async () => {
      const shown = await getJson<{ session: Session }>(`${baseUrl}/api/sessions/${sessionId}`, admin.AVCARE_TOKEN);
      return shown.body.session.state === 'active' ? shown.body.session : undefined;
    }, 10_000, 'the session active in the cloud');
    expect(active.answeredBy).toMatch(/^pc:[^:]+$/);
    expect(active.scopes).toEqual(['reprobe', 'network-test', 'visca-power-cycle']);

    // The engineer runs three actions and sees each result.
    const run = async (args: string[]) => {
      const ran = await cloudCli(['session', 'run', sessionId, ...args, '--json'], engineer);
      return { code: ran.code, stderr: ran.stderr, command: ran.stdout.length > 0 ? (JSON.parse(ran.stdout) as { command: Command }).command : undefined };
    };
    const reprobe = await run(['reprobe']);
    expect(reprobe.code, reprobe.stderr).toBe(0);
    expect(reprobe.command).toMatchObject({ action: 'reprobe', status: 'ok' });
    expect(JSON.stringify(reprobe.command?.result)).toContain(pair.a);

    const network = await run(['network-test', '--wait', '120']);
    expect(network.code, network.stderr).toBe(0);
    expect(network.command).toMatchObject({ action: 'network-test', status: 'ok', result: { status: 'done', result: { test: 'network', verdict: 'meets-targets' } } });

    camera.received.length = 0;
    const cycled = await run(['visca-power-cycle', '--arg', 'camera=front camera', '--wait', '60']);
    expect(cycled.code, cycled.stderr).toBe(0);
    expect(cycled.command).toMatchObject({ action: 'visca-power-cycle', status: 'ok', result: { before: 'on', after: 'on', steps: ['power before: on', 'standby: done', 'power on: done', 'power after: on'] } });
    expect(camera.received.map((packet) => packet.toString('hex'))).toEqual(expect.arrayContaining(['8101040003ff', '8101040002ff']));

    // The privacy scope the teacher did not grant is refused before anything is signed.
    const snapshot = await cloudCli(['session', 'run', sessionId, 'camera-snapshot'], engineer);
    expect(snapshot.code).not.toBe(0);
    expect(snapshot.stderr).toContain('camera-snapshot sees or hears the classroom and the school did not grant it by name');

    // The school saw each step as it happened.
    await eventually(() => Promise.resolve(live.includes('"action":"visca-power-cycle"') && live.includes('"status":"ok"') ? true : undefined), 5_000, 'the live steps');
    expect(live).toContain('event: session');
    expect(live.match(/event: command/g)?.length).toBeGreaterThanOrEqual(6);

    // Another enrolled agent cannot speak for this one: the broker refuses its topic, the cloud its claim.
    const otherCredentials = await enrollThroughApi(baseUrl, await enrollmentToken(baseUrl, 'sch-1'), { schoolId: 'sch-1', roomId: 'r102', agentId: 'pc-intruder' });
    const intruder = await connectAgent(`mqtt://127.0.0.1:${mqttPort}`, otherCredentials);
    cleanup.push(() => intruder.endAsync(true));
    const forged = { type: 'session-revoked', sessionId, by: 'intruder', at: new Date().toISOString(), reason: null };
    await intruder.publishAsync(agentSessionTopic({ school: 'sch-1', room: 'r102', agent: 'pc-intruder' }), JSON.stringify(forged), { qos: 1 });
    // Reading the victim's commands is refused too (SUBACK failure), and so is writing into its inbox.
    await expect(intruder.subscribeAsync(agentSessionInbox(schoolId, agentId), { qos: 1 })).rejects.toThrow('Subscribe error');
    const dropped = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish(agentSessionTopic({ school: schoolId, room: 'r101', agent: agentId }), JSON.stringify(forged), { qos: 1 });
    await dropped;
    const audit = async (action: string) => (await getJson<{ entries: Array<{ actor: string; action: string; outcome: string; target: string | null; detail: Record<string, unknown> }> }>(`${baseUrl}/api/audit?action=${action}`, admin.AVCARE_TOKEN)).body.entries;
    const impersonations = await eventually(async () => {
      const entries = await audit('session.impersonation');
      return entries.length >= 2 ? entries : undefined;
    }, 5_000, 'the refused topics in the audit log');
    expect(impersonations.map((entry) => `${entry.actor} ${String(entry.detail['reason'])}`)).toEqual([
      `agent:sch-1:pc-intruder the broker refused to let it subscribe ${agentSessionInbox(schoolId, agentId)}`,
      `agent:sch-1:pc-intruder the broker refused to let it publish ${agentSessionTopic({ school: schoolId, room: 'r101', agent: agentId })}`,
    ]);
    const refusedClaim = await eventually(async () => (await audit('session.revoke')).find((entry) => entry.actor === 'agent:sch-1:pc-intruder'), 5_000, 'the refused claim in the audit log');
    expect(refusedClaim).toMatchObject({ outcome: 'denied', detail: { reason: `agent pc-intruder answered for a session of agent ${agentId}` } });
    expect((await getJson<{ session: Session }>(`${baseUrl}/api/sessions/${sessionId}`, admin.AVCARE_TOKEN)).body.session.state).toBe('active');

    // The school admin revokes; the PC is told, and the next command is refused.
    const revoked = await cloudCli(['session', 'revoke', sessionId, '--reason', 'the lesson starts'], admin);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('REVOKED');
    const after = await cloudCli(['session', 'run', sessionId, 'reprobe'], engineer);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain(`session ${sessionId} is revoked: commands run only in an active session`);
    await eventually(async () => ((await consent(['list'])).stdout.match(new RegExp(`${sessionId}[^\\n]*(REVOKED|CLOSED|ENDED)`, 'i')) ? true : undefined), 10_000, 'the revocation at the PC');

    expect(await watching.exited).toBe(0);
    expect(watching.stdout()).toContain(`${sessionId}  PENDING`);
    expect(watching.stdout()).toContain('PRIVACY: camera-snapshot would see or hear the classroom (granted only when named: approve --grant)');
    expect(watching.stdout()).toMatch(/visca-power-cycle \{"camera":"front camera"\} {2}OK/);
    expect(watching.stdout()).toContain(`${sessionId}  REVOKED`);

    // Every step is in the audit log, and the PC keeps its own record of what ran on it.
    const steps = (await getJson<{ entries: Array<{ action: string; outcome: string; target: string | null }> }>(`${baseUrl}/api/audit?limit=500`, admin.AVCARE_TOKEN)).body.entries.filter((entry) => entry.target === `session:${sessionId}`);
    const actions = steps.map((entry) => `${entry.action}:${entry.outcome}`);
    for (const expected of ['session.request:success', 'session.approve:success', 'session.command:success', 'session.result:success', 'session.command:denied', 'session.revoke:success']) expect(actions).toContain(expected);
    expect(actions.filter((action) => action === 'session.result:success')).toHaveLength(3);
    const pcLog = await consent(['log']);
    expect(pcLog.stdout).toMatch(/command {2}visca-power-cycle {2}by wang-engineer {2}ok/);
    expect(pcLog.stdout).toMatch(/command {2}network-test {2}by wang-engineer {2}ok/);
  }, 240_000);
});
