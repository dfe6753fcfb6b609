import { describe, expect, it, vi } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { MockSerialLink } from './serial-link.js';
import { ViscaClient, queryCamera } from './visca-client.js';
import { fromHex, powerInquiry, toHex, versionInquiry, zoomPositionInquiry } from './visca.js';

const SHORT_MS = 50;

/** Answers each known command like a camera would, on the next turn of the event loop. */
function cameraReplies(link: MockSerialLink, replies: Record<string, string | undefined>): void {
  link.respond = (written, port) => {
    const reply = replies[toHex(written)];
    if (reply !== undefined) setImmediate(() => port.emit(fromHex(reply)));
  };
}

async function rejection(promise: Promise<unknown>): Promise<AvcareError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof AvcareError)) throw new Error(`expected an AvcareError, got ${String(error)}`);
  return error;
}

describe('ViscaClient.inquire', () => {
  it('sends the inquiry and resolves with the decoded reply', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090400ff': '90 50 02 FF' });
    const reply = await new ViscaClient(link).inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS });
    expect(reply).toEqual({ type: 'power', power: 'on' });
    expect(toHex(link.lastWrite ?? new Uint8Array())).toBe('81090400ff');
  });

  it('accepts a reply the camera delivers synchronously during the write', async () => {
    const link = new MockSerialLink();
    link.respond = (_written, port) => port.emit(fromHex('90 50 03 FF'));
    await expect(new ViscaClient(link).inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS })).resolves.toEqual({ type: 'power', power: 'standby' });
  });

  it('joins a reply that arrives in several chunks', async () => {
    const link = new MockSerialLink();
    link.respond = (_written, port) => {
      setImmediate(() => port.emit([0x90, 0x50]));
      setTimeout(() => port.emit([0x04, 0x00, 0x00, 0x00, 0xff]), 5);
    };
    await expect(new ViscaClient(link).inquire(zoomPositionInquiry(1), { expect: 'zoom', timeoutMs: SHORT_MS })).resolves.toEqual({ type: 'zoom', position: 0x4000 });
  });

  it('times out with VISCA_TIMEOUT carrying the bytes that did arrive', async () => {
    const link = new MockSerialLink();
    link.respond = (_written, port) => port.emit(fromHex('90 50'));
    const started = performance.now();
    const error = await rejection(new ViscaClient(link).inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS }));
    expect(error.code).toBe('VISCA_TIMEOUT');
    expect(error.context.raw).toBe('9050');
    expect(error.message).toContain('2 byte(s) arrived');
    expect(performance.now() - started).toBeLessThan(SHORT_MS + 200);
  });

  it('times out with an empty raw when the line is silent', async () => {
    const error = await rejection(new ViscaClient(new MockSerialLink()).inquire(powerInquiry(1), { timeoutMs: SHORT_MS }));
    expect(error.code).toBe('VISCA_TIMEOUT');
    expect(error.context.raw).toBe('');
  });

  it('rejects a garbled reply with VISCA_GARBLED and its raw bytes', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090400ff': '90 50 FF' });
    const error = await rejection(new ViscaClient(link).inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS }));
    expect(error.code).toBe('VISCA_GARBLED');
    expect(error.context.raw).toBe('9050ff');
  });

  it('rejects an error reply with VISCA_ERROR_REPLY naming the error', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090002ff': '90 60 02 FF' });
    const error = await rejection(new ViscaClient(link).inquire(versionInquiry(1), { expect: 'version', timeoutMs: SHORT_MS }));
    expect(error.code).toBe('VISCA_ERROR_REPLY');
    expect(error.context).toMatchObject({ error: 'syntax', raw: '906002ff' });
  });

  it('ignores a reply from another camera on the chain and waits for its own', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090400ff': 'A0 50 04 FF 90 50 02 FF' });
    await expect(new ViscaClient(link).inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS })).resolves.toEqual({ type: 'power', power: 'on' });
  });

  it('drops a late reply to a timed-out inquiry instead of taking it for the next answer', async () => {
    const link = new MockSerialLink();
    const client = new ViscaClient(link);
    await expect(client.inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS })).rejects.toMatchObject({ code: 'VISCA_TIMEOUT' });
    // The answer to the power inquiry turns up after the client gave up on it, half a packet included.
    link.emit(fromHex('90 50 02 FF 90 50'));
    cameraReplies(link, { '81090447ff': '90 50 01 02 03 04 FF' });
    await expect(client.inquire(zoomPositionInquiry(1), { expect: 'zoom', timeoutMs: SHORT_MS })).resolves.toEqual({ type: 'zoom', position: 0x1234 });
  });

  it('rejects at once with the abort reason when the signal aborts mid-wait', async () => {
    const link = new MockSerialLink();
    const controller = new AbortController();
    const reason = new AvcareError('PROBE_TIMEOUT', 'cycle over');
    const inquiry = new ViscaClient(link).inquire(powerInquiry(1), { timeoutMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    const started = performance.now();
    await expect(inquiry).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('does not write at all when the signal is already aborted', async () => {
    const link = new MockSerialLink();
    const signal = AbortSignal.abort();
    await expect(new ViscaClient(link).inquire(powerInquiry(1), { signal })).rejects.toBe(signal.reason);
    expect(link.writes).toEqual([]);
  });

  it('sends a second inquiry only after the first is answered', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090400ff': '90 50 02 FF', '81090447ff': '90 50 00 00 00 01 FF' });
    const client = new ViscaClient(link);
    const power = client.inquire(powerInquiry(1), { expect: 'power', timeoutMs: SHORT_MS });
    const zoom = client.inquire(zoomPositionInquiry(1), { expect: 'zoom', timeoutMs: SHORT_MS });
    expect(link.writes.length).toBeLessThanOrEqual(1);
    await expect(power).resolves.toEqual({ type: 'power', power: 'on' });
    await expect(zoom).resolves.toEqual({ type: 'zoom', position: 1 });
    expect(link.writes.map(toHex)).toEqual(['81090400ff', '81090447ff']);
  });

  it('turns a failed write into SERIAL_IO_FAILED instead of waiting for the timeout', async () => {
    const link = new MockSerialLink();
    await link.close();
    const error = await rejection(new ViscaClient(link).inquire(powerInquiry(1), { timeoutMs: 10_000 }));
    expect(error.code).toBe('SERIAL_IO_FAILED');
  });

  it('stops listening and rejects a waiting inquiry when detached', async () => {
    const link = new MockSerialLink();
    const client = new ViscaClient(link);
    const inquiry = client.inquire(powerInquiry(1), { timeoutMs: 10_000 });
    await vi.waitFor(() => expect(link.writes).toHaveLength(1));
    client.detach();
    await expect(inquiry).rejects.toMatchObject({ code: 'PROBE_FAILED' });
    expect(link.listenerCount()).toBe(0);
    await expect(client.inquire(powerInquiry(1), { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'PROBE_FAILED' });
    expect(link.writes).toHaveLength(1);
  });
});

describe('queryCamera', () => {
  const camera = {
    '81090400ff': '90 50 02 FF',
    '81090447ff': '90 50 04 00 00 00 FF',
    '81090002ff': '90 50 00 01 05 19 01 30 02 FF',
  };

  it('reads power, zoom and version from a camera that is on', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, camera);
    await expect(queryCamera(new ViscaClient(link), 1, { timeoutMs: SHORT_MS })).resolves.toEqual({
      address: 1,
      power: 'on',
      zoomPosition: 0x4000,
      version: { vendorId: 1, modelId: 0x0519, romVersion: 0x0130, socketCount: 2 },
    });
  });

  it('asks a camera in standby only for its power state', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { ...camera, '81090400ff': '90 50 03 FF' });
    await expect(queryCamera(new ViscaClient(link), 1, { timeoutMs: SHORT_MS })).resolves.toEqual({ address: 1, power: 'standby' });
    expect(link.writes.map(toHex)).toEqual(['81090400ff']);
  });

  it('reports a power-circuit error without asking further', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090400ff': '90 50 04 FF' });
    await expect(queryCamera(new ViscaClient(link), 1, { timeoutMs: SHORT_MS })).resolves.toEqual({ address: 1, power: 'power-error' });
  });

  it('leaves out the version of a camera that rejects the version inquiry', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { ...camera, '81090002ff': '90 60 02 FF' });
    await expect(queryCamera(new ViscaClient(link), 1, { timeoutMs: SHORT_MS })).resolves.toEqual({ address: 1, power: 'on', zoomPosition: 0x4000 });
  });

  it('fails when the camera goes silent after answering power', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '81090400ff': camera['81090400ff'] });
    await expect(queryCamera(new ViscaClient(link), 1, { timeoutMs: SHORT_MS })).rejects.toMatchObject({ code: 'VISCA_TIMEOUT' });
  });

  it('addresses camera 3 and accepts only replies from camera 3', async () => {
    const link = new MockSerialLink();
    cameraReplies(link, { '83090400ff': '90 50 02 FF B0 50 03 FF' });
    await expect(queryCamera(new ViscaClient(link), 3, { timeoutMs: SHORT_MS })).resolves.toEqual({ address: 3, power: 'standby' });
  });
});
