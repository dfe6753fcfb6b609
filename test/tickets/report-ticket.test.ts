import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUD_CLI, enrollmentToken, eventually, getJson, operatorPasswordFile, runNodeEntry, signIn, TEST_OPERATOR_PASSWORD, type RunningProcess } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';
import { runCli, writeConfig } from '../helpers/run-cli.js';

/**
 * A teacher types one command on the classroom PC and a ticket exists in the cloud: the built
 * `avcare-agent report` against the built `avcare-cloud start` with its embedded broker.
 */
describe('avcare-agent report to a ticket', () => {
  let cloud: RunningProcess | undefined;

  afterAll(() => cloud?.kill());

  it('opens a TEACHER_REPORT ticket with the words, who typed them and the PC\'s bundle', async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--admin-password-file', operatorPasswordFile()], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    await cloud.waitForOutput(/Ctrl-C stops/);
    const baseUrl = `http://127.0.0.1:${httpPort}`;
    // The PC was enrolled (by the IT teacher, once); the teacher's report then goes out under its identity.
    const pc = mkdtempSync(join(tmpdir(), 'avcare-report-pc-'));
    const config = writeConfig({ agentId: 'pc-9', probeTimeoutSeconds: 3 });
    const enrolled = await runCli(['-c', config, 'enroll', '--cloud', baseUrl, '--token', await enrollmentToken(baseUrl, 'sch-t'), '--room', 'r301'], { stateHome: pc });
    expect(enrolled.code).toBe(0);

    const filed = await runCli(['-c', config, 'report', 'the', 'projector', 'flickers', '--by', 'teacher-wu'], { stateHome: pc });
    expect(filed.code).toBe(0);

    const token = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
    const ticket = await eventually(async () => {
      const { body } = await getJson<{ tickets: Array<{ id: string; code: string; title: string; description: string; roomId: string }> }>(`${baseUrl}/api/tickets?school=sch-t`, token);
      return body.tickets[0];
    }, 15_000, 'the ticket of the report');
    expect(ticket).toMatchObject({ code: 'TEACHER_REPORT', roomId: 'r301', title: 'Room r301: the projector flickers' });
    expect(ticket.description).toContain('By teacher-wu');
    const { body } = await getJson<{ bundle: { report: { text: string }; agentBundle: { sources: Array<{ source: string }>; logExcerpt: string[] } } }>(`${baseUrl}/api/tickets/${ticket.id}`, token);
    expect(body.bundle.report.text).toBe('the projector flickers');
    expect(body.bundle.agentBundle.sources.map((source) => source.source)).toContain('usb');
  }, 40_000);
});
