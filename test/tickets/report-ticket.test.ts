import { afterAll, describe, expect, it } from 'vitest';
import { CLOUD_CLI, eventually, getJson, runNodeEntry, type RunningProcess } from '../cloud/cloud-process.js';
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
    cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1'], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    await cloud.waitForOutput(/Ctrl-C stops/);
    const config = writeConfig({ schoolId: 'sch-t', roomId: 'r301', agentId: 'pc-9', broker: { url: `mqtt://127.0.0.1:${mqttPort}` }, probeTimeoutSeconds: 3 });

    const filed = await runCli(['-c', config, 'report', 'the', 'projector', 'flickers', '--by', 'teacher-wu']);
    expect(filed.code).toBe(0);

    const ticket = await eventually(async () => {
      const { body } = await getJson<{ tickets: Array<{ id: string; code: string; title: string; description: string; roomId: string }> }>(`http://127.0.0.1:${httpPort}/api/tickets?school=sch-t`);
      return body.tickets[0];
    }, 15_000, 'the ticket of the report');
    expect(ticket).toMatchObject({ code: 'TEACHER_REPORT', roomId: 'r301', title: 'Room r301: the projector flickers' });
    expect(ticket.description).toContain('By teacher-wu');
    const { body } = await getJson<{ bundle: { report: { text: string }; agentBundle: { sources: Array<{ source: string }>; logExcerpt: string[] } } }>(`http://127.0.0.1:${httpPort}/api/tickets/${ticket.id}`);
    expect(body.bundle.report.text).toBe('the projector flickers');
    expect(body.bundle.agentBundle.sources.map((source) => source.source)).toContain('usb');
  }, 40_000);
});
