/**
 * Edge cases of the PJLink client against scripted devices on real loopback TCP: each test's
 * device sends exactly the bytes that case needs. The well-behaved simulator is exercised in
 * test/pjlink-tcp.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { queryPjlink } from './pjlink-client.js';

interface ScriptedDevice {
  port: number;
  /** Sockets the device has seen close. */
  closed: number;
}

/** On connect runs `onConnect`; then for each CR-terminated line writes what `answer` returns. */
interface Script {
  onConnect: (socket: Socket) => void;
  answer?: (line: string, socket: Socket) => string | undefined;
}

const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function scriptedDevice(script: Script): Promise<ScriptedDevice> {
  const device: ScriptedDevice = { port: 0, closed: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      device.closed += 1;
      sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end = buffer.indexOf('\r');
      while (end !== -1) {
        const reply = script.answer?.(buffer.slice(0, end), socket);
        buffer = buffer.slice(end + 1);
        if (reply !== undefined && socket.writable) socket.write(reply);
        end = buffer.indexOf('\r');
      }
    });
    script.onConnect(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  device.port = address.port;
  return device;
}

/** A class 1 projector that answers every query; `overrides` replaces single replies. */
function answers(overrides: Record<string, string> = {}): (line: string) => string | undefined {
  const replies: Record<string, string> = {
    CLSS: '%1CLSS=1\r',
    POWR: '%1POWR=1\r',
    ERST: '%1ERST=000000\r',
    LAMP: '%1LAMP=100 1\r',
    NAME: '%1NAME=P1\r',
    INF1: '%1INF1=Maker\r',
    INF2: '%1INF2=Model\r',
    ...overrides,
  };
  return (line) => replies[line.slice(2, 6)];
}

async function rejection(promise: Promise<unknown>): Promise<AvcareError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AvcareError) return error;
    throw error;
  }
  throw new Error('expected the query to fail');
}

const target = (device: ScriptedDevice): { host: string; port: number } => ({ host: '127.0.0.1', port: device.port });
const quick = { connectTimeoutMs: 1000, replyTimeoutMs: 1000 };

describe('queryPjlink against scripted devices', () => {
  it('reports a service that is not PJLink as PJLINK_PROTOCOL_ERROR with the raw text', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('SSH-2.0-OpenSSH_9.6\r\n') });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toContain('SSH-2.0-OpenSSH_9.6');
    expect(error.context.raw).toBe('SSH-2.0-OpenSSH_9.6');
    expect(error.context.rawHex).toBe(Buffer.from('SSH-2.0-OpenSSH_9.6').toString('hex'));
  });

  it('accepts lines ended with CR LF', async () => {
    const replies = answers();
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r\n'), answer: (line) => replies(line)?.replace('\r', '\r\n') });
    const info = await queryPjlink(target(device), quick);
    expect(info).toMatchObject({ power: 'on', name: 'P1', lamps: [{ hours: 100, on: true }] });
  });

  it('drops a line the device sent before the command instead of taking it as the reply', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r%1JUNK=1\r'), answer: answers() });
    const info = await queryPjlink(target(device), quick);
    expect(info.pjlinkClass).toBe('1');
    expect(info.power).toBe('on');
  });

  it('reports a reply to a different command as PJLINK_PROTOCOL_ERROR', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r'), answer: answers({ POWR: '%1ERST=000000\r' }) });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toContain('a reply to ERST');
  });

  it('reports a malformed POWR value as PJLINK_PROTOCOL_ERROR naming POWR and the text', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r'), answer: answers({ POWR: '%1POWR=7\r' }) });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toMatch(/POWR reply "7"/);
  });

  it('gives up on a stream of bytes without a CR', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('x'.repeat(5000)) });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toContain('without a CR');
  });

  it("turns ERR4 (projector failure) into power 'unknown' and an 'other' error", async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r'), answer: answers({ POWR: '%1POWR=ERR4\r' }) });
    const info = await queryPjlink(target(device), quick);
    expect(info.power).toBe('unknown');
    expect(info.errors.other).toBe('error');
  });

  it('leaves out an empty NAME and an ERR1 INF2', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r'), answer: answers({ NAME: '%1NAME=\r', INF2: '%1INF2=ERR1\r' }) });
    const info = await queryPjlink(target(device), quick);
    expect(info).not.toHaveProperty('name');
    expect(info).not.toHaveProperty('product');
    expect(info.manufacturer).toBe('Maker');
  });

  it('reports a device that closes before its greeting as PJLINK_CONNECT_FAILED', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.end() });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_CONNECT_FAILED');
    expect(error.message).toContain('before sending its PJLink greeting');
  });

  it('reports PJLINK ERRA as the greeting as PJLINK_AUTH_FAILED', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK ERRA\r') });
    const error = await rejection(queryPjlink({ ...target(device), password: 'p4ss' }, quick));
    expect(error.code).toBe('PJLINK_AUTH_FAILED');
    expect(error.message).not.toContain('p4ss');
    expect(JSON.stringify(error.context)).not.toContain('p4ss');
  });

  it('stops after a fresh connection also closes without answering', async () => {
    const device = await scriptedDevice({
      onConnect: (socket) => socket.write('PJLINK 0\r'),
      answer: (_line, socket) => {
        socket.end();
        return undefined;
      },
    });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toContain('without answering %1CLSS');
  });

  it('rejects with the abort reason at once and closes the socket when the signal aborts', async () => {
    const device = await scriptedDevice({ onConnect: () => undefined });
    const controller = new AbortController();
    const reason = new AvcareError('PROBE_TIMEOUT', 'cycle over');
    setTimeout(() => controller.abort(reason), 100);
    const started = performance.now();
    const error = await rejection(queryPjlink(target(device), { connectTimeoutMs: 5000, replyTimeoutMs: 5000, signal: controller.signal }));
    expect(error).toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
    await expect.poll(() => device.closed).toBe(1);
  });

  it('rejects without connecting when the signal is already aborted', async () => {
    const device = await scriptedDevice({ onConnect: () => undefined });
    const reason = new AvcareError('PROBE_TIMEOUT', 'already over');
    await expect(queryPjlink(target(device), { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});
