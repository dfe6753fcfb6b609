import type { ViscaVersion } from '../../agent/probes/visca.js';

/**
 * 'hung': the command processor is stuck (a full command buffer): addressed commands go
 * unanswered while broadcasts still pass through, until an IF_Clear empties the buffers and the
 * camera turns to `recoversTo`.
 */
export type ViscaCameraMode = 'on' | 'standby' | 'power-error' | 'silent' | 'garbage' | 'hung';

export interface ViscaCameraBehaviour {
  mode: ViscaCameraMode;
  /** The camera's VISCA address, 1-7. */
  address?: number;
  zoom?: number;
  version?: ViscaVersion;
  /** What 'garbage' mode sends in answer to anything: by default bytes without a terminator, as a wrong baud rate gives. */
  garbage?: Uint8Array;
  /** The mode a 'hung' camera turns to when it receives IF_Clear; 'on' by default. */
  recoversTo?: Exclude<ViscaCameraMode, 'hung'>;
}

/** What a camera does with VISCA packets, whatever carries them (a serial line, UDP, TCP). */
export interface ViscaCameraLogic {
  /** The byte strings the camera sends back for one packet it received (terminator included). */
  answer(packet: Uint8Array): Uint8Array[];
  mode: ViscaCameraMode;
}

const DEFAULT_VERSION: ViscaVersion = { vendorId: 0x0001, modelId: 0x0519, romVersion: 0x0130, socketCount: 2 };
const DEFAULT_GARBAGE = Uint8Array.of(0x12, 0x9c, 0x50, 0x3e, 0x00, 0x7f);
const TERMINATOR = 0xff;

/**
 * Replies are written out byte by byte here rather than built with the agent's codec, so a
 * codec bug cannot hide itself in the tests.
 */
export function viscaCameraLogic(options: ViscaCameraBehaviour): ViscaCameraLogic {
  const address = options.address ?? 1;
  const replyHeader = (address + 8) << 4;
  const zoom = options.zoom ?? 0x4000;
  const version = options.version ?? DEFAULT_VERSION;
  const garbage = options.garbage ?? DEFAULT_GARBAGE;
  const logic: ViscaCameraLogic = { mode: options.mode, answer };
  const reply = (...payload: number[]): Uint8Array => Uint8Array.of(replyHeader, ...payload, TERMINATOR);

  function answer(packet: Uint8Array): Uint8Array[] {
    const [header, ...rest] = packet;
    const body = rest.slice(0, -1);
    if (header === 0x88) return answerBroadcast(body);
    if (header !== (0x80 | address)) return []; // addressed to another camera on the chain
    const mode = logic.mode;
    if (mode === 'silent') return [];
    if (mode === 'hung') {
      // An IF_Clear addressed to this camera (as over IP, where there is no chain) also frees it.
      if (sameBytes(body, [0x01, 0x00, 0x01])) {
        logic.mode = options.recoversTo ?? 'on';
        return [reply(0x50)];
      }
      return [];
    }
    if (mode === 'garbage') return [garbage];

    const isPowerInquiry = sameBytes(body, [0x09, 0x04, 0x00]);
    if (isPowerInquiry) return [reply(0x50, mode === 'on' ? 0x02 : mode === 'standby' ? 0x03 : 0x04)];
    // CAM_Power on/standby works from standby too; a camera with a power fault cannot execute it.
    if (mode !== 'power-error' && sameBytes(body.slice(0, 3), [0x01, 0x04, 0x00]) && body.length === 4 && (body[3] === 0x02 || body[3] === 0x03)) {
      logic.mode = body[3] === 0x02 ? 'on' : 'standby';
      return [reply(0x41), reply(0x51)];
    }
    if (mode !== 'on') return [reply(0x60, 0x41)]; // not executable while in standby or faulty
    if (sameBytes(body, [0x09, 0x04, 0x47])) return [reply(0x50, (zoom >> 12) & 0xf, (zoom >> 8) & 0xf, (zoom >> 4) & 0xf, zoom & 0xf)];
    if (sameBytes(body, [0x09, 0x00, 0x02])) {
      const { vendorId, modelId, romVersion, socketCount } = version;
      return [reply(0x50, vendorId >> 8, vendorId & 0xff, modelId >> 8, modelId & 0xff, romVersion >> 8, romVersion & 0xff, socketCount)];
    }
    if (sameBytes(body, [0x01, 0x00, 0x01])) return [reply(0x50)]; // IF_Clear to this camera
    if (body[0] === 0x01) return [reply(0x41), reply(0x51)]; // ack, then completion, on socket 1
    return [reply(0x60, 0x02)]; // syntax error
  }

  function answerBroadcast(body: number[]): Uint8Array[] {
    if (logic.mode === 'silent') return [];
    // Address set: take the address offered and pass the next one down the chain.
    if (body[0] === 0x30 && body.length === 2) return [Uint8Array.of(0x88, 0x30, (body[1] ?? 0) + 1, TERMINATOR)];
    if (sameBytes(body, [0x01, 0x00, 0x01])) {
      if (logic.mode === 'hung') logic.mode = options.recoversTo ?? 'on';
      return [Uint8Array.of(0x88, 0x01, 0x00, 0x01, TERMINATOR)];
    }
    return [];
  }

  return logic;
}

function sameBytes(actual: readonly number[], expected: readonly number[]): boolean {
  return actual.length === expected.length && actual.every((byte, index) => byte === expected[index]);
}
