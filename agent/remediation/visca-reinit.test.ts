import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { MockSerialLink, type openSerialLink } from '../probes/serial-link.js';
import { fromHex, toHex } from '../probes/visca.js';
import { describeReinit, reinitViscaChain, reinitViscaPort } from './visca-reinit.js';

const SHORT_MS = 50;

/** A chain that answers each broadcast it knows, as the documented replies. */
function chain(replies: Record<string, string>): MockSerialLink {
  const link = new MockSerialLink();
  link.respond = (written, self) => {
    const reply = replies[toHex(written)];
    if (reply !== undefined) setImmediate(() => self.emit(fromHex(reply)));
  };
  return link;
}

const ONE_CAMERA = { '88010001ff': '88 01 00 01 FF', '883001ff': '88 30 02 FF' };

describe('reinitViscaChain', () => {
  it('sends IF_Clear then Address Set as broadcasts and reads one camera on the chain', async () => {
    const link = chain(ONE_CAMERA);
    await expect(reinitViscaChain(link, { timeoutMs: SHORT_MS })).resolves.toEqual({ ifClear: { answered: true }, addressSet: { answered: true, cameras: 1 } });
    expect(link.writes.map(toHex)).toEqual(['88010001ff', '883001ff']);
    expect(link.listenerCount()).toBe(0);
  });

  it('still sends Address Set when IF_Clear goes unanswered, and reports each timeout', async () => {
    const link = chain({ '883001ff': '88 30 04 FF' });
    const outcome = await reinitViscaChain(link, { timeoutMs: SHORT_MS });
    expect(outcome.ifClear).toEqual({ answered: false, reason: `no reply from the VISCA chain within ${SHORT_MS} ms` });
    expect(outcome.addressSet).toEqual({ answered: true, cameras: 3 });
  });

  it('ignores a camera\'s own reply while it waits for the broadcast to come back', async () => {
    const link = chain({ '88010001ff': '90 60 02 FF 88 01 00 01 FF', '883001ff': '88 30 02 FF' });
    await expect(reinitViscaChain(link, { timeoutMs: SHORT_MS })).resolves.toMatchObject({ ifClear: { answered: true } });
  });

  it('does not take an IF_Clear reply for the Address Set answer', async () => {
    const link = chain({ '88010001ff': '88 01 00 01 FF', '883001ff': '88 01 00 01 FF' });
    await expect(reinitViscaChain(link, { timeoutMs: SHORT_MS })).resolves.toMatchObject({ addressSet: { answered: false, reason: 'answered with an unexpected if-clear reply' } });
  });

  it('stops at once when the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new AvcareError('PROBE_TIMEOUT', 'remediation time used up');
    setTimeout(() => controller.abort(reason), 10);
    const started = performance.now();
    const outcome = await reinitViscaChain(new MockSerialLink(), { timeoutMs: 10_000, signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(outcome).toEqual({ ifClear: { answered: false, reason: 'remediation time used up' }, addressSet: { answered: false, reason: 'remediation time used up' } });
  });
});

describe('describeReinit', () => {
  it.each([
    [{ ifClear: { answered: true }, addressSet: { answered: true, cameras: 1 } }, [1], 'the camera chain answered IF_Clear and Address Set (1 camera on the chain)'],
    [{ ifClear: { answered: true }, addressSet: { answered: true, cameras: 1 } }, [1, 2], 'the camera chain answered IF_Clear and Address Set (1 camera on the chain, fewer than the configured address 2)'],
    [{ ifClear: { answered: true }, addressSet: { answered: false, reason: 'timeout' } }, [1], 'the camera chain answered IF_Clear but not Address Set (timeout)'],
    [{ ifClear: { answered: false, reason: 'timeout' }, addressSet: { answered: true, cameras: 2 } }, [1], 'no answer to IF_Clear (timeout), but the camera chain answered Address Set (2 cameras on the chain)'],
    [{ ifClear: { answered: false, reason: 'timeout' }, addressSet: { answered: false, reason: 'timeout' } }, [1], 'no answer to IF_Clear or Address Set (timeout)'],
    [{ ifClear: { answered: false, reason: 'timeout' }, addressSet: { answered: false, reason: 'garbled' } }, [1], 'no answer to IF_Clear (timeout) or Address Set (garbled)'],
  ] as const)('says what the chain did: %j', (outcome, addresses, text) => {
    expect(describeReinit(outcome, addresses)).toBe(text);
  });
});

describe('reinitViscaPort', () => {
  it('opens the configured port at its baud rate, re-initialises and closes it', async () => {
    const link = chain(ONE_CAMERA);
    const opened: Array<[string, number]> = [];
    const open: typeof openSerialLink = (path, baudRate) => {
      opened.push([path, baudRate]);
      return Promise.resolve(link);
    };
    const text = await reinitViscaPort({ path: '/dev/ttyUSB0', baudRate: 38400, addresses: [1] }, { open, timeoutMs: SHORT_MS });
    expect(text).toBe('the camera chain answered IF_Clear and Address Set (1 camera on the chain)');
    expect(opened).toEqual([['/dev/ttyUSB0', 38400]]);
    expect(link.closed).toBe(true);
  });

  it('reports a port that cannot be opened as a sentence, not an exception', async () => {
    const open: typeof openSerialLink = (path) => Promise.reject(new AvcareError('SERIAL_OPEN_FAILED', `cannot open serial port ${path}: No such file or directory`));
    await expect(reinitViscaPort({ path: '/dev/ttyUSB9', baudRate: 9600, addresses: [1] }, { open })).resolves.toBe(
      'could not open /dev/ttyUSB9 to re-initialise the camera: cannot open serial port /dev/ttyUSB9: No such file or directory',
    );
  });
});
