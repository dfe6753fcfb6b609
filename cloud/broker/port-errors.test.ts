import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { explainListenError, listenOn } from './port-errors.js';

function errno(code: string): Error {
  return Object.assign(new Error(`listen ${code}`), { code });
}

const target = { port: 1883, host: '0.0.0.0', flag: '--mqtt-port' };

describe('explainListenError', () => {
  it('names the port and the flag when the port is in use', () => {
    const explained = explainListenError(errno('EADDRINUSE'), target);
    expect(explained).toBeInstanceOf(AvcareError);
    expect(explained).toMatchObject({ code: 'PORT_IN_USE', message: 'port 1883 is already in use; choose another with --mqtt-port', context: { port: 1883, flag: '--mqtt-port' } });
  });

  it('names the port and the flag when the port needs privileges', () => {
    expect(explainListenError(errno('EACCES'), { ...target, port: 80, flag: '--port' }).message).toBe('port 80 needs more privileges than this process has; choose one above 1023 with --port');
  });

  it('returns other errors unchanged', () => {
    const other = errno('EMFILE');
    expect(explainListenError(other, target)).toBe(other);
  });
});

describe('listenOn', () => {
  it('resolves the port the OS picked for port 0', async () => {
    const server = createServer();
    const port = await listenOn(server, { port: 0, host: '127.0.0.1', flag: '--mqtt-port' });
    expect(port).toBeGreaterThan(0);
    await new Promise((resolve) => server.close(resolve));
  });

  it('rejects with the explained error when the port is taken', async () => {
    const first = createServer();
    const port = await listenOn(first, { port: 0, host: '127.0.0.1', flag: '--port' });
    const second = createServer();
    await expect(listenOn(second, { port, host: '127.0.0.1', flag: '--port' })).rejects.toThrow(`port ${port} is already in use; choose another with --port`);
    await new Promise((resolve) => first.close(resolve));
  });
});
