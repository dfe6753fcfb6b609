import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../cloud/webhooks/webhook-signature.js';
import { payloadOf, topicOf, validMessage } from '../collector/agent-traffic.js';
import { CLOUD_CLI, connectAgent, enrollmentToken, enrollThroughApi, eventually, operatorPasswordFile, runNodeEntry, type RunningProcess } from '../cloud/cloud-process.js';
import { freePort } from '../helpers/free-port.js';

const SECRET = 'e2e-secret-0123456789';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A helpdesk's webhook receiver that is down (503) for its first answers, then up: the cloud,
 * started as users start it with a service configuration, must deliver the ticket event anyway,
 * signed, with the ticket in it.
 */
describe('webhooks from a running cloud', () => {
  let cloud: RunningProcess | undefined;
  let receiver: Server | undefined;

  afterAll(async () => {
    cloud?.kill();
    await new Promise((resolve) => receiver?.close(resolve) ?? resolve(undefined));
  });

  it('delivers ticket.opened, signed, after the receiver came back from being down', async () => {
    const received: Received[] = [];
    let refusals = 2;
    receiver = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (refusals > 0) {
          refusals -= 1;
          response.writeHead(503, { 'retry-after': '1' }).end('down for maintenance');
          return;
        }
        received.push({ headers: request.headers, body });
        response.writeHead(204).end();
      });
    });
    const hookPort = await freePort();
    await new Promise<void>((resolve) => receiver?.listen(hookPort, '127.0.0.1', resolve));

    const dir = mkdtempSync(join(tmpdir(), 'avcare-webhooks-e2e-'));
    const serviceFile = join(dir, 'service.json');
    writeFileSync(
      serviceFile,
      JSON.stringify({
        regions: [{ id: 'pudong', city: 'shanghai' }],
        teams: [{ id: 'east', regions: ['pudong'] }],
        schools: [{ id: 'sch-hook', region: 'pudong' }],
        webhooks: [{ id: 'helpdesk', url: `http://127.0.0.1:${hookPort}/avcare`, secret: SECRET, events: ['ticket.opened'] }],
      }),
    );
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    cloud = runNodeEntry(CLOUD_CLI, ['start', '--port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--service', serviceFile, '--admin-password-file', operatorPasswordFile()], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    await cloud.waitForOutput(/Ctrl-C stops/);

    const baseUrl = `http://127.0.0.1:${httpPort}`;
    const sender = { schoolId: 'sch-hook', roomId: 'r1', agentId: 'pc-1' };
    const client = await connectAgent(`mqtt://127.0.0.1:${mqttPort}`, await enrollThroughApi(baseUrl, await enrollmentToken(baseUrl, sender.schoolId), sender));
    try {
      const fault = validMessage('fault', sender, 1);
      await client.publishAsync(topicOf(fault), payloadOf(fault), { qos: 1 });
    } finally {
      await client.endAsync();
    }

    const [delivery] = await eventually(() => Promise.resolve(received.length > 0 ? received : undefined), 25_000, 'the webhook delivery');
    expect(refusals).toBe(0);
    const verified = verifyWebhook({ secret: SECRET, body: delivery?.body ?? '', headers: delivery?.headers as Record<string, string> });
    expect(verified.ok).toBe(true);
    expect(delivery?.headers['x-avcare-event']).toBe('ticket.opened');
    const event = JSON.parse(delivery?.body ?? '{}') as { type: string; ticket: { schoolId: string; teamId: string; status: string } };
    expect(event).toMatchObject({ type: 'ticket.opened', ticket: { schoolId: 'sch-hook', teamId: 'east', status: 'open' } });
    expect(received).toHaveLength(1);
  }, 40_000);
});
