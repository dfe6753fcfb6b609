import { execFile } from 'node:child_process';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../cloud/tickets/ticket-store.js';
import { payloadOf, topicOf, validMessage } from '../collector/agent-traffic.js';
import { freePort } from '../helpers/free-port.js';
import { CLOUD_CLI, eventually, runNodeEntry, type RunningProcess } from './cloud-process.js';

function tickets(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLOUD_CLI, 'tickets', ...args], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * From an agent's fault over MQTT to a ticket an engineer acknowledges and resolves in a terminal:
 * the built `avcare-cloud start` and `avcare-cloud tickets`, as users run them.
 */
describe('avcare-cloud tickets', () => {
  let cloud: RunningProcess;
  let url: string;
  let id: string;

  beforeAll(async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${httpPort}`;
    cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1'], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    await cloud.waitForOutput(/Ctrl-C stops/);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4, clientId: 'test-tickets-cli' });
    try {
      const fault = validMessage('fault', { schoolId: 'sch-cli', roomId: 'r1', agentId: 'pc-1' }, 1);
      // A device string with a terminal escape: the human output must not pass it to the terminal.
      if (fault.type === 'fault') fault.message = 'camera gone \u001b[2J\u001b[31mred';
      await client.publishAsync(topicOf(fault), payloadOf(fault), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    id = await eventually(async () => {
      const listed = await tickets(['list', '--url', url, '--json']);
      if (listed.code !== 0) return undefined;
      return (JSON.parse(listed.stdout) as { tickets: Ticket[] }).tickets[0]?.id;
    }, 10_000, 'the ticket of the published fault');
  }, 30_000);

  afterAll(() => cloud.kill());

  it('lists the ticket opened from the fault, as a table and as JSON', async () => {
    const table = await tickets(['list', '--url', url]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+SEVERITY\s+STATUS\s+SCHOOL\/ROOM\s+TEAM\s+OPENED \(UTC\)\s+TITLE$/m);
    expect(table.stdout).toContain(`${id}  urgent    open`);
    const json = JSON.parse((await tickets(['list', '--url', url, '--json', '--status', 'open'])).stdout) as { tickets: Ticket[] };
    expect(json.tickets.map((ticket) => [ticket.id, ticket.schoolId, ticket.roomId, ticket.status])).toEqual([[id, 'sch-cli', 'r1', 'open']]);
  });

  it('acknowledges and resolves with a report, shown in the ticket and its history without terminal escapes', async () => {
    expect((await tickets(['ack', id, '--url', url, '--by', 'engineer-wang'])).stdout).toBe(`${id} is now acknowledged\n`);
    const resolved = await tickets(['resolve', id, '--url', url, '--by', 'engineer-wang', '--note', 'reseated the USB cable', '--cause', 'loose cable']);
    expect(resolved.stdout).toBe(`${id} is now resolved\n`);
    const shown = await tickets(['show', id, '--url', url]);
    expect(shown.stdout).toContain('resolved by engineer-wang (engineer)');
    expect(shown.stdout).toMatch(/^SLA first-response: met, due \d{4}-\d\d-\d\dT/m);
    expect(shown.stdout).toMatch(/^SLA resolution: met, due /m);
    expect(shown.stdout).toMatch(/engineer-wang\s+acknowledged -> acknowledged/);
    expect(shown.stdout).toContain('camera gone');
    expect(shown.stdout).toMatch(/self-help:\n {2}1\. /);
    expect(shown.stdout).toContain(`resolved before:\n  ${id} (engineer-wang): loose cable`);
    expect(shown.stdout).not.toContain('\u001b');
  });

  it('explains a refused move, an unknown ticket and an unreachable cloud, exiting non-zero', async () => {
    const again = await tickets(['ack', id, '--url', url, '--by', 'x']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('is resolved');
    const unknown = await tickets(['show', 'TK-00000000', '--url', url]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('no ticket TK-00000000');
    const port = await freePort();
    const unreachable = await tickets(['list', '--url', `http://127.0.0.1:${port}`]);
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain(`cannot reach the avcare cloud at http://127.0.0.1:${port}`);
  });
});
