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

  it('reports a reply to a different command as a bad reply of that command, and keeps the rest', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r'), answer: answers({ POWR: '%1ERST=000000\r' }) });
    const info = await queryPjlink(target(device), quick);
    expect(info.power).toBe('unknown');
    expect(info.badReplies).toEqual([{ command: 'POWR', raw: '%1ERST=000000', rawHex: Buffer.from('%1ERST=000000').toString('hex') }]);
    expect(info).toMatchObject({ pjlinkClass: '1', name: 'P1', lamps: [{ hours: 100, on: true }] });
  });

  it('reports a malformed POWR value as a bad reply with its text, and keeps the rest', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 0\r'), answer: answers({ POWR: '%1POWR=7\r' }) });
    const info = await queryPjlink(target(device), quick);
    expect(info.power).toBe('unknown');
    expect(info.badReplies).toEqual([{ command: 'POWR', raw: '7', rawHex: '37' }]);
    expect(info.manufacturer).toBe('Maker');
  });

  it('gives up on a stream of bytes without a line end', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('x'.repeat(5000)) });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toContain('more than 1 KiB without a line end');
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

  it('reports a device that closes before its greeting as a refusal (PJLINK_REFUSED)', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.end() });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_REFUSED');
    expect(error.message).toContain('before sending its PJLink greeting');
  });

  it('reports PJLINK ERRA as the greeting as PJLINK_AUTH_FAILED', async () => {
    const device = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK ERRA\r') });
    const error = await rejection(queryPjlink({ ...target(device), password: 'p4ss' }, quick));
    expect(error.code).toBe('PJLINK_AUTH_FAILED');
    expect(error.message).not.toContain('p4ss');
    expect(JSON.stringify(error.context)).not.toContain('p4ss');
  });

  it('reports a device that closes the connection at every command, also on a fresh one, as a refusal', async () => {
    const device = await scriptedDevice({
      onConnect: (socket) => socket.write('PJLINK 0\r'),
      answer: (_line, socket) => {
        socket.end();
        return undefined;
      },
    });
    const error = await rejection(queryPjlink(target(device), quick));
    expect(error.code).toBe('PJLINK_REFUSED');
    expect(error.message).toContain('closed the connection at every command without answering');
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

/** Writes `text` in pieces of `size` bytes a few ms apart: one reply over many TCP segments. */
function trickle(socket: Socket, text: string, size = 1): void {
  const bytes = Buffer.from(text, 'utf8');
  for (let offset = 0, delay = 0; offset < bytes.length; offset += size, delay += 2) {
    const piece = bytes.subarray(offset, offset + size);
    setTimeout(() => socket.writable && socket.write(piece), delay);
  }
}

describe('queryPjlink against the dialects devices in the field speak', () => {
  const expectFull = (info: Awaited<ReturnType<typeof queryPjlink>>): void => {
    expect(info).toMatchObject({ power: 'on', errors: { fan: 'ok', lamp: 'ok' }, lamps: [{ hours: 100, on: true }], name: 'P1', manufacturer: 'Maker', product: 'Model' });
    expect(info).not.toHaveProperty('badReplies');
    expect(info).not.toHaveProperty('unsupported');
  };

  it.each([
    ['a prompt after every reply (\\n>)', (reply: string) => `${reply}\n>`],
    ['CR LF and a prompt', (reply: string) => `${reply.replace('\r', '\r\n')}> `],
    ['a trailing NUL', (reply: string) => `${reply}\0`],
    ['leading whitespace', (reply: string) => `  \t${reply}`],
    ['the prompt in front of the reply', (reply: string) => `> ${reply}`],
    ['LF instead of CR', (reply: string) => reply.replace('\r', '\n')],
    ['the same reply twice in one read', (reply: string) => `${reply}${reply}`],
  ])('reads replies followed or preceded by %s', async (_name, frame) => {
    const replies = answers();
    const device = await scriptedDevice({ onConnect: (socket) => socket.write(frame('PJLINK 0\r')), answer: (line) => {
      const reply = replies(line);
      return reply === undefined ? undefined : frame(reply);
    } });
    expectFull(await queryPjlink(target(device), quick));
  });

  it('reads one reply split over many TCP segments, and several replies in one segment', async () => {
    const replies = answers();
    const device = await scriptedDevice({
      onConnect: (socket) => trickle(socket, 'PJLINK 0\r'),
      answer: (line, socket) => {
        const reply = replies(line);
        if (reply !== undefined) trickle(socket, reply, 3);
        return undefined;
      },
    });
    expectFull(await queryPjlink(target(device), quick));
  });

  it('reads lower-case command names, values and greetings, and a class written as text', async () => {
    const device = await scriptedDevice({
      onConnect: (socket) => socket.write('pjlink 0\r'),
      answer: answers({ CLSS: '%1clss=Class 2\r', POWR: '%1powr=1\r', LAMP: '%1lamp=err3\r', SNUM: '%2snum=SN123\r', SVER: '%2sver=err1\r', FILT: '%2filt=250\r' }),
    });
    const info = await queryPjlink(target(device), quick);
    expect(info).toMatchObject({ pjlinkClass: '2', power: 'on', serialNumber: 'SN123', filterHours: 250, lamps: [] });
    expect(info.commandErrors).toEqual([{ command: 'LAMP', error: 'ERR3' }, { command: 'SVER', error: 'ERR1' }]);
  });

  it('reports commands a device does not implement (ERR1, ERR2, silence, a closed connection) as unsupported and keeps everything it answered', async () => {
    const device = await scriptedDevice({
      onConnect: (socket) => socket.write('PJLINK 0\r'),
      answer: (line, socket) => {
        const body = line.slice(2, 6);
        if (body === 'CLSS') return '%1CLSS=ERR1\r';
        if (body === 'ERST') return undefined; // silence
        if (body === 'LAMP') {
          socket.end(); // hangs up instead of answering
          return undefined;
        }
        if (body === 'INF1') return '%1INF1=ERR2\r';
        return answers()(line);
      },
    });
    const info = await queryPjlink(target(device), { connectTimeoutMs: 1000, replyTimeoutMs: 400 });
    expect(info.unsupported).toEqual(['CLSS', 'ERST', 'LAMP', 'INF1']);
    expect(info).toMatchObject({ power: 'on', pjlinkClass: '1', name: 'P1', product: 'Model' });
    expect(info).not.toHaveProperty('manufacturer');
    expect(info).not.toHaveProperty('badReplies');
  });

  it('waits for a slow device up to the deadline for its first answer, then as long as it has shown it needs', async () => {
    const device = await scriptedDevice({
      onConnect: (socket) => socket.write('PJLINK 0\r'),
      answer: (line, socket) => {
        const reply = answers()(line);
        if (reply !== undefined) setTimeout(() => socket.writable && socket.write(reply), 1200);
        return undefined;
      },
    });
    const started = Date.now();
    // The least reply wait (500 ms) is shorter than the device's 1.2 s: it is still heard.
    const info = await queryPjlink(target(device), { connectTimeoutMs: 1000, replyTimeoutMs: 500, deadline: started + 5_000 });
    expect(info.power).toBe('on');
    expect(info.unanswered).toEqual(expect.arrayContaining(['INF2']));
    expect(info).not.toHaveProperty('unsupported');
    expect(Date.now() - started).toBeLessThan(5_500);
  });

  it('keeps four outcomes apart: silence, refusal, a rejected password, a garbled answer', async () => {
    const silent = await scriptedDevice({ onConnect: () => undefined });
    const garbled = await scriptedDevice({ onConnect: (socket) => socket.write('HTTP/1.1 400 Bad Request\r\n') });
    const auth = await scriptedDevice({ onConnect: (socket) => socket.write('PJLINK 1 0badf00d\r'), answer: () => 'PJLINK ERRA\r' });
    const closedPort = await scriptedDevice({ onConnect: () => undefined });
    await new Promise<void>((resolve) => servers.pop()?.close(() => resolve()));
    const outcomes = await Promise.all([
      rejection(queryPjlink(target(silent), { connectTimeoutMs: 500, replyTimeoutMs: 300, deadline: Date.now() + 600 })),
      rejection(queryPjlink(target(closedPort), quick)),
      rejection(queryPjlink({ ...target(auth), password: 'wrong' }, quick)),
      rejection(queryPjlink(target(garbled), quick)),
    ]);
    expect(outcomes.map((error) => error.code)).toEqual(['PJLINK_TIMEOUT', 'PJLINK_REFUSED', 'PJLINK_AUTH_FAILED', 'PJLINK_PROTOCOL_ERROR']);
    expect(outcomes[3]?.context.raw).toBe('HTTP/1.1 400 Bad Request');
  });
});
