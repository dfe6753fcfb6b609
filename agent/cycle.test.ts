import { describe, expect, it } from 'vitest';
import type { MediaInfo } from '../protocol/index.js';
import { usbDevice } from '../test/helpers/device-factory.js';
import { parseAgentConfig } from './config.js';
import { runProbeCycle } from './cycle.js';
import { FaultMonitor } from './fault-monitor.js';
import { silentLogger } from '../protocol/log.js';
import type { Probe } from './probes/probe.js';

const config = parseAgentConfig({});
const camera = usbDevice();
const usbProbe: Probe = { id: 'usb', run: () => Promise.resolve({ state: 'ok', devices: [camera] }) };

function mediaProbe(media: MediaInfo): Probe {
  return { id: 'media', run: () => Promise.resolve({ state: 'ok', devices: [], media }) };
}

describe('runProbeCycle', () => {
  it('attaches OS media nodes to the USB device on the same port and keeps the rest as unmatched', async () => {
    const media: MediaInfo = {
      videoNodes: [{ path: '/dev/video0', name: 'C930e', capabilities: ['video-capture'], canCapture: true, usbPort: '1-1.4' }],
      audioCards: [{ index: 0, id: 'PCH', name: 'HDA Intel PCH', capture: false, playback: true }],
    };
    const cycle = await runProbeCycle([usbProbe, mediaProbe(media)], { config, log: silentLogger });
    expect(cycle.devices[0]?.media?.videoNodes.map((n) => n.path)).toEqual(['/dev/video0']);
    expect(cycle.unmatchedMedia?.audioCards.map((c) => c.id)).toEqual(['PCH']);
    expect(cycle.sources.map((s) => `${s.source}:${s.state}`)).toEqual(['usb:ok', 'media:ok']);
  });

  it('lets the fault rules see a camera whose driver produced no video node', async () => {
    const cycle = await runProbeCycle([usbProbe, mediaProbe({ videoNodes: [], audioCards: [] })], { config, log: silentLogger });
    const faults = new FaultMonitor(config, null).detect(cycle).map((f) => f.code);
    expect(faults).toContain('CAMERA_NO_VIDEO_NODE');
    expect(faults).toContain('MICROPHONE_NO_CAPTURE');
  });

  it('concludes nothing about media when the media source is unavailable', async () => {
    const unavailable: Probe = { id: 'media', run: () => Promise.resolve({ state: 'unavailable', reason: 'no ALSA', devices: [] }) };
    const cycle = await runProbeCycle([usbProbe, unavailable], { config, log: silentLogger });
    expect(cycle.devices[0]?.media).toBeUndefined();
    expect(new FaultMonitor(config, null).detect(cycle)).toEqual([]);
  });
});
