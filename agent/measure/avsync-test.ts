/**
 * The A/V sync test: the pipeline loopback always (it checks the measuring chain and gives the
 * pipeline's own offset), then the room chain when this PC has a display, speakers, a camera and a
 * microphone. The room's result is the one reported when it ran: it is what a remote class sees.
 */
import type { AvsyncResult } from '../../protocol/measure-result.js';
import { MIN_MARKERS } from './av-markers.js';
import { measurePipelineSync } from './pipeline-loopback.js';
import { deviceCapture, ffplayPresenter, measureRoomChain } from './room-chain.js';
import { findRoomDevices, type RoomDeviceLookup } from './room-devices.js';
import type { TestProgress, TestSettings } from './test-ipc.js';

export interface AvsyncTestOptions {
  settings: TestSettings;
  onProgress: (progress: TestProgress) => void;
  /** Where devices are looked for (tests point it at recorded sysfs trees). */
  lookup?: RoomDeviceLookup;
}

export async function runAvsyncTest(options: AvsyncTestOptions): Promise<AvsyncResult> {
  const { settings, onProgress } = options;
  const markers = settings.markers ?? 12;
  onProgress({ phase: 'measuring', elapsedMs: 0 });
  const pipeline = await measurePipelineSync({ markers, ...(settings.audioShiftMs === undefined ? {} : { audioShiftMs: settings.audioShiftMs }) });
  const pipelineResult: AvsyncResult = { test: 'avsync', mode: 'pipeline', summary: pipeline.summary, markersSent: markers, roomUnavailable: [] };

  const found = await findRoomDevices(settings.room ?? { enabled: true }, options.lookup);
  if (found.devices === undefined) return { ...pipelineResult, roomUnavailable: found.missing };
  onProgress({ phase: 'room' });
  const room = await measureRoomChain({
    capture: deviceCapture(found.devices),
    markers,
    present: ffplayPresenter(found.devices.display),
    onMarkersSeen: (seen) => onProgress({ phase: 'finishing', markersSeen: seen }),
  });
  return {
    test: 'avsync',
    mode: 'room',
    summary: room.summary,
    markersSent: markers,
    roomUnavailable: room.summary.markers >= MIN_MARKERS ? [] : room.problems,
    pipeline: pipeline.summary,
    room: { ...found.devices, flashesSeen: room.flashesSeen, beepsHeard: room.beepsHeard, flashContrast: room.flashContrast, toneToNoise: Math.min(room.toneToNoise, 1e9) },
  };
}
