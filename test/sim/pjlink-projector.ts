/**
 * A PJLink projector on a real TCP socket (127.0.0.1, a free port) for integration tests:
 * greeting, MD5 authentication, PJLINK ERRA, the class 1 and class 2 queries avcare sends, ERR1
 * for anything else, and the awkward behaviours real devices show (slow replies, silence in
 * eco-standby, closing after every reply, ERR3 in standby). Read-only: set commands get ERR2.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';

export interface PjlinkProjectorOptions {
  /** Where to listen: 127.0.0.1 and a free port by default; discovery tests use a namespace's address and 4352. */
  listenHost?: string;
  listenPort?: number;
  /** When set, the greeting asks for authentication (`PJLINK 1 <random>`). */
  password?: string;
  class?: '1' | '2';
  /** 0 standby, 1 on, 2 cooling, 3 warm-up. */
  power?: 0 | 1 | 2 | 3;
  /** Six ERST digits: fan, lamp, temperature, cover, filter, other. */
  errors?: string;
  /** [hours, on] per lamp; an empty list makes LAMP answer ERR1, as displays without a lamp do. */
  lamps?: Array<[number, boolean]>;
  name?: string;
  manufacturer?: string;
  product?: string;
  serial?: string;
  softwareVersion?: string;
  filterHours?: number;
  /** Delay before each command reply (not the greeting). */
  replyDelayMs?: number;
  /** Limits replyDelayMs to these command bodies (e.g. ['POWR']); all commands when absent. */
  slowCommands?: string[];
  /** Accepts TCP but never sends anything (a projector in eco-standby). */
  silent?: boolean;
  closeAfterEachReply?: boolean;
  /** In standby (power 0), ERST and LAMP answer ERR3 (unavailable time). */
  standbyErr3?: boolean;
  /**
   * How this device frames what it sends (greeting and replies, each given with its CR): field
   * dialects such as a prompt after the CR, CR LF, a trailing NUL, lower case.
   */
  framing?: (text: string) => string;
}

export interface PjlinkProjector {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Every line received, as sent (auth prefix included), without the CR. */
  readonly received: string[];
}

type Reply = { value: string } | { error: 'ERR1' | 'ERR2' | 'ERR3' | 'ERR4' };

const CLASS_ONE_COMMANDS = new Set(['POWR', 'ERST', 'LAMP', 'CLSS', 'NAME', 'INF1', 'INF2', 'INFO']);
const CLASS_TWO_COMMANDS = new Set(['SNUM', 'SVER', 'FILT']);

export async function startPjlinkProjector(options: PjlinkProjectorOptions = {}): Promise<PjlinkProjector> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const received: string[] = [];
  let connections = 0;

  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // A client resetting the connection is normal in these tests; without a listener it would throw.
    socket.on('error', () => socket.destroy());
    if (options.silent) return;
    serveConnection(socket, options, received, timers);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listenPort ?? 0, options.listenHost ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('PJLink simulator did not get a TCP port');

  return {
    port: address.port,
    host: options.listenHost ?? '127.0.0.1',
    received,
    get connections() {
      return connections;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

function serveConnection(socket: Socket, options: PjlinkProjectorOptions, received: string[], timers: Set<NodeJS.Timeout>): void {
  const random = randomBytes(4).toString('hex');
  let awaitingAuth = options.password !== undefined;
  let buffer = Buffer.alloc(0);
  // Replies go out in order even when each is delayed.
  let queue = Promise.resolve();

  const frame = options.framing ?? ((text: string) => text);
  socket.write(frame(options.password === undefined ? 'PJLINK 0\r' : `PJLINK 1 ${random}\r`));
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    let end = buffer.indexOf(0x0d);
    while (end !== -1) {
      const line = buffer.subarray(0, end).toString('utf8');
      buffer = buffer.subarray(end + 1);
      received.push(line);
      queue = queue.then(() => answerLine(line));
      end = buffer.indexOf(0x0d);
    }
  });

  async function answerLine(line: string): Promise<void> {
    let command = line;
    if (awaitingAuth) {
      const expected = createHash('md5').update(random + (options.password ?? '')).digest('hex');
      if (!line.startsWith(expected)) {
        send('PJLINK ERRA\r');
        socket.end();
        return;
      }
      awaitingAuth = false;
      command = line.slice(expected.length);
    }
    const match = /^%([12])([A-Z0-9]{4}) (.*)$/.exec(command);
    const [, cls, body, param] = match ?? [];
    if (cls === undefined || body === undefined || param === undefined) return;
    const reply = replyTo(cls, body, param, options);
    const slow = options.slowCommands === undefined || options.slowCommands.includes(body);
    if (options.replyDelayMs !== undefined && slow) await delay(options.replyDelayMs, timers);
    send(frame(`%${cls}${body}=${'value' in reply ? reply.value : reply.error}\r`));
    if (options.closeAfterEachReply) socket.end();
  }

  function send(text: string): void {
    if (!socket.destroyed && socket.writable) socket.write(Buffer.from(text, 'utf8'));
  }
}

function replyTo(cls: string, body: string, param: string, options: PjlinkProjectorOptions): Reply {
  const deviceClass = options.class ?? '1';
  const known = CLASS_ONE_COMMANDS.has(body) || (deviceClass === '2' && cls === '2' && CLASS_TWO_COMMANDS.has(body));
  if (!known || (cls === '2' && deviceClass === '1')) return { error: 'ERR1' };
  if (param !== '?') return { error: 'ERR2' };
  const power = options.power ?? 1;
  const inStandby = power === 0 && options.standbyErr3 === true;
  switch (body) {
    case 'POWR':
      return { value: String(power) };
    case 'ERST':
      return inStandby ? { error: 'ERR3' } : { value: options.errors ?? '000000' };
    case 'LAMP': {
      if (inStandby) return { error: 'ERR3' };
      const lamps = options.lamps ?? [[1200, power === 1]];
      if (lamps.length === 0) return { error: 'ERR1' };
      return { value: lamps.map(([hours, on]) => `${hours} ${on ? 1 : 0}`).join(' ') };
    }
    case 'CLSS':
      return { value: deviceClass };
    case 'NAME':
      return { value: options.name ?? 'Room 101 projector' };
    case 'INF1':
      return { value: options.manufacturer ?? 'EPSON' };
    case 'INF2':
      return { value: options.product ?? 'EB-X41' };
    case 'INFO':
      return { value: 'avcare PJLink simulator' };
    case 'SNUM':
      return options.serial === undefined ? { error: 'ERR1' } : { value: options.serial };
    case 'SVER':
      return options.softwareVersion === undefined ? { error: 'ERR1' } : { value: options.softwareVersion };
    case 'FILT':
      return options.filterHours === undefined ? { error: 'ERR1' } : { value: String(options.filterHours) };
    default:
      return { error: 'ERR1' };
  }
}

function delay(ms: number, timers: Set<NodeJS.Timeout>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      resolve();
    }, ms);
    timers.add(timer);
  });
}
