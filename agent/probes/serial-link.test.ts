import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { MockSerialLink, openSerialLink } from './serial-link.js';

describe('openSerialLink', () => {
  it('fails with SERIAL_OPEN_FAILED naming the path when the port does not exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'avcare-serial-'));
    const path = join(dir, 'ttyUSB0');
    try {
      const error: unknown = await openSerialLink(path, 9600).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(AvcareError);
      expect(error).toMatchObject({ code: 'SERIAL_OPEN_FAILED', context: { path, baudRate: 9600 } });
      expect((error as AvcareError).message).toContain(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not try to open when the signal is already aborted', async () => {
    const reason = new AvcareError('PROBE_TIMEOUT', 'cycle over');
    await expect(openSerialLink('/dev/null-does-not-matter', 9600, AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});

describe('MockSerialLink', () => {
  it('records writes, plays emitted bytes to listeners and stops after unsubscribe', async () => {
    const link = new MockSerialLink();
    const heard: string[] = [];
    const stop = link.onData((bytes) => heard.push(Buffer.from(bytes).toString('hex')));
    await link.write(Uint8Array.of(0x81, 0x09, 0x04, 0x00, 0xff));
    expect(link.lastWrite).toEqual(Uint8Array.of(0x81, 0x09, 0x04, 0x00, 0xff));
    link.emit([0x90, 0x50, 0x02, 0xff]);
    stop();
    link.emit([0x90, 0x50, 0x03, 0xff]);
    expect(heard).toEqual(['905002ff']);
  });

  it('refuses writes once closed, like a port that went away', async () => {
    const link = new MockSerialLink();
    await link.close();
    await expect(link.write(Uint8Array.of(0xff))).rejects.toThrow('closed');
  });
});
