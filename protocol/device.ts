import { z } from 'zod';

export const deviceKindSchema = z.enum([
  'camera',
  'microphone',
  'speaker',
  'speakerphone',
  'headset',
  'vr-headset',
  'vr-controller',
  'vr-tracking',
  'capture-card',
  'serial-adapter',
  'hub',
  'projector',
  'display',
  /** An interactive flat panel's or whiteboard's touch frame (a USB HID digitizer). */
  'touch-panel',
  'other',
]);
export type DeviceKind = z.infer<typeof deviceKindSchema>;

/** ok: works; degraded: works with a warning; faulty: present but not usable; unreachable: does not answer. */
export const deviceStatusSchema = z.enum(['ok', 'degraded', 'faulty', 'unreachable', 'unknown']);
export type DeviceStatus = z.infer<typeof deviceStatusSchema>;

const u8 = z.number().int().min(0).max(0xff);
const u16 = z.number().int().min(0).max(0xffff);

export const usbInterfaceSchema = z.object({
  number: u8,
  alternate: u8.default(0),
  class: u8,
  subClass: u8,
  protocol: u8,
});
export type UsbInterface = z.infer<typeof usbInterfaceSchema>;

/**
 * A terminal of a USB audio or video function: where sound or picture enters or leaves it. The
 * class code says "audio"; only the terminals say which way the sound flows (a USB speaker has a
 * USB-streaming input and a speaker output) and what feeds a video function (a camera sensor, or
 * an HDMI/SDI connector on a capture card). Types are the USB-IF terminal type codes.
 */
export const usbTerminalSchema = z.object({
  function: z.enum(['audio', 'video']),
  direction: z.enum(['input', 'output']),
  type: u16,
});
export type UsbTerminal = z.infer<typeof usbTerminalSchema>;

export const usbInfoSchema = z.object({
  vendorId: u16,
  productId: u16,
  deviceClass: u8,
  deviceSubClass: u8,
  deviceProtocol: u8,
  interfaces: z.array(usbInterfaceSchema),
  manufacturer: z.string().max(256).optional(),
  product: z.string().max(256).optional(),
  serialNumber: z.string().max(256).optional(),
  /** Names from the usb.ids database when the device's own strings are not readable. */
  vendorName: z.string().max(256).optional(),
  productName: z.string().max(256).optional(),
  busNumber: z.number().int().min(0),
  deviceAddress: z.number().int().min(0),
  /** Port chain from the root hub, e.g. [1, 4] for "1-1.4" in sysfs. */
  portPath: z.array(z.number().int().min(0)),
  /** Absent when the class-specific descriptors could not be read. */
  terminals: z.array(usbTerminalSchema).max(64).optional(),
});
export type UsbInfo = z.infer<typeof usbInfoSchema>;

export const viscaFramingSchema = z.enum(['sony-ip', 'raw-udp', 'raw-tcp']);
export type ViscaFraming = z.infer<typeof viscaFramingSchema>;

export const connectionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('usb'), bus: z.number().int(), portPath: z.string() }),
  z.object({
    type: z.literal('serial'),
    path: z.string(),
    protocol: z.enum(['visca', 'none']),
    baudRate: z.number().int().positive(),
  }),
  z.object({
    type: z.literal('network'),
    host: z.string(),
    port: z.number().int().min(1).max(65535),
    protocol: z.enum(['pjlink', 'visca', 'adb']),
    /** VISCA over IP: Sony's header over UDP, bare VISCA bytes over UDP, or over TCP. */
    framing: viscaFramingSchema.optional(),
  }),
  z.object({ type: z.literal('os'), path: z.string() }),
]);
export type Connection = z.infer<typeof connectionSchema>;

export const videoNodeSchema = z.object({
  path: z.string(),
  name: z.string().max(256),
  /** v4l2 device capabilities, e.g. ["video-capture", "streaming"]. */
  capabilities: z.array(z.string()),
  canCapture: z.boolean(),
  /** true when the capabilities were guessed from the sysfs index because VIDIOC_QUERYCAP could not be asked (no v4l2-ctl). */
  capabilitiesInferred: z.boolean().optional(),
  /** sysfs USB port path ("1-1.4") when the node belongs to a USB device. */
  usbPort: z.string().optional(),
});
export type VideoNode = z.infer<typeof videoNodeSchema>;

export const audioCardSchema = z.object({
  index: z.number().int().min(0),
  id: z.string().max(64),
  name: z.string().max(256),
  capture: z.boolean(),
  playback: z.boolean(),
  /** true when every capture switch of the card is off; absent when not readable. */
  captureMuted: z.boolean().optional(),
  usbPort: z.string().optional(),
});
export type AudioCard = z.infer<typeof audioCardSchema>;

export const mediaInfoSchema = z.object({
  videoNodes: z.array(videoNodeSchema),
  audioCards: z.array(audioCardSchema),
});
export type MediaInfo = z.infer<typeof mediaInfoSchema>;

export const viscaInfoSchema = z.object({
  address: z.number().int().min(1).max(7),
  power: z.enum(['on', 'standby', 'power-error', 'unknown']),
  zoomPosition: z.number().int().min(0).max(0xffff).optional(),
  version: z
    .object({ vendorId: u16, modelId: u16, romVersion: u16, socketCount: u8 })
    .optional(),
  /** VISCA over IP configured as "auto": the framing was found by trying, so the teacher can pin it. */
  framingDetected: z.boolean().optional(),
  /** What each framing tried by "auto" got back, when none answered or to show how it was found. */
  framingAttempts: z
    .array(
      z.object({
        framing: viscaFramingSchema,
        port: z.number().int().min(1).max(65535),
        outcome: z.enum(['answered', 'garbled', 'refused', 'silent']),
        detail: z.string().max(512),
      }),
    )
    .max(8)
    .optional(),
  /** UDP datagrams sent again because no answer came back in time: a lossy network shows here. */
  retransmitted: z.number().int().min(0).optional(),
});
export type ViscaInfo = z.infer<typeof viscaInfoSchema>;

export const pjlinkErrorLevelSchema = z.enum(['ok', 'warning', 'error']);
export const pjlinkInfoSchema = z.object({
  pjlinkClass: z.enum(['1', '2']),
  power: z.enum(['standby', 'on', 'cooling', 'warm-up', 'unknown']),
  errors: z.object({
    fan: pjlinkErrorLevelSchema,
    lamp: pjlinkErrorLevelSchema,
    temperature: pjlinkErrorLevelSchema,
    cover: pjlinkErrorLevelSchema,
    filter: pjlinkErrorLevelSchema,
    other: pjlinkErrorLevelSchema,
  }),
  lamps: z.array(z.object({ hours: z.number().int().min(0), on: z.boolean() })).max(8),
  name: z.string().max(256).optional(),
  manufacturer: z.string().max(256).optional(),
  product: z.string().max(256).optional(),
  serialNumber: z.string().max(256).optional(),
  softwareVersion: z.string().max(256).optional(),
  filterHours: z.number().int().min(0).optional(),
  authenticated: z.boolean(),
  /**
   * Commands the device refused: ERR3 (unavailable time, e.g. ERST/LAMP in standby) means the
   * matching fields above are not a real "ok"; ERR4 is the device reporting its own failure.
   */
  commandErrors: z.array(z.object({ command: z.string().max(8), error: z.enum(['ERR1', 'ERR2', 'ERR3', 'ERR4']) })).max(16).optional(),
  /**
   * Items this device does not do: it answered ERR1 or ERR2, nothing, or closed the connection to
   * that command while it answered the others. Their fields above are absent or not a real "ok".
   */
  unsupported: z.array(z.string().max(8)).max(16).optional(),
  /** Commands answered with something that is not a PJLink reply: the bytes, for the engineer. */
  badReplies: z.array(z.object({ command: z.string().max(8), raw: z.string().max(128), rawHex: z.string().max(256) })).max(16).optional(),
  /** Commands the probe's time ran out before: unknown, not unsupported. */
  unanswered: z.array(z.string().max(8)).max(16).optional(),
});
export type PjlinkInfo = z.infer<typeof pjlinkInfoSchema>;
export type PjlinkErrorLevel = z.infer<typeof pjlinkErrorLevelSchema>;

/**
 * What the OS made of a touch panel's HID interface. The class comes from the device's own HID
 * report descriptor ('unknown' when the kernel showed none: no driver took the interface). Only
 * whether touch input exists is kept here: no coordinates ever leave the PC.
 */
export const touchInfoSchema = z.object({
  touchClass: z.enum(['touch-screen', 'pen', 'touch-pad', 'mouse-emulation', 'not-touch', 'unknown']),
  /** Contacts it tracks at once, as its descriptor says; absent when it does not say. */
  maxContacts: z.number().int().min(0).max(255).optional(),
  /** The kernel's HID device, e.g. 0003:0EEF:C000.0009. */
  hidId: z.string().max(64).optional(),
  /** The driver bound to it (hid-multitouch, hid-generic, usbtouchscreen); null when none took it. */
  driver: z.string().max(64).nullable(),
  /** The input devices the kernel made of it (input31, ...). */
  inputDevices: z.array(z.string().max(32)).max(16),
  /** Whether one of them reports touches on a screen (INPUT_PROP_DIRECT with touch axes); absent when not known. */
  touchInput: z.boolean().optional(),
  /** Where its report descriptor contradicts itself or could not be read. */
  descriptorProblems: z.array(z.string().max(256)).max(8).optional(),
  /** Whether touches arrive: contacts begun since `sinceAt` and when the last began. Counts only, never positions. */
  activity: z.object({ touches: z.number().int().min(0), sinceAt: z.iso.datetime(), lastTouchAt: z.iso.datetime().nullable() }).optional(),
});
export type TouchInfo = z.infer<typeof touchInfoSchema>;

/** An Android package name (com.school.vrlab): what the config names and the headset reports. */
export const androidPackageSchema = z
  .string()
  .max(128)
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/, 'must be an Android package name such as com.school.vrlab (letters, digits and _ in at least two dot-separated parts)');

/** A standalone VR headset as ADB shows it: its own state, its controllers and the class's apps. */
export const vrInfoSchema = z.object({
  /** false: the headset has not accepted this PC's ADB key, so nothing else could be read. */
  authorized: z.boolean(),
  osBuild: z.string().max(256).optional(),
  battery: z
    .object({
      level: z.number().int().min(0).max(100),
      charging: z.enum(['charging', 'discharging', 'not-charging', 'full', 'unknown']),
      powered: z.boolean(),
      health: z.enum(['good', 'overheat', 'dead', 'over-voltage', 'failure', 'cold', 'unknown']),
      temperatureC: z.number().min(-40).max(150).optional(),
    })
    .optional(),
  thermal: z.object({ status: z.enum(['none', 'light', 'moderate', 'severe', 'critical', 'emergency', 'shutdown']), hottestC: z.number().optional(), hottestSensor: z.string().max(64).optional() }).optional(),
  storage: z.object({ freeBytes: z.number().min(0), totalBytes: z.number().min(0), usePercent: z.number().min(0).max(100) }).optional(),
  wifi: z.object({ ssid: z.string().max(64), rssiDbm: z.number().int().optional(), linkMbps: z.number().min(0).optional(), frequencyMhz: z.number().min(0).optional() }).optional(),
  controllers: z.array(z.object({ side: z.enum(['left', 'right', 'unknown']), name: z.string().max(64), connected: z.boolean().nullable(), batteryPercent: z.number().int().min(0).max(100).optional() })).max(8),
  apps: z
    .array(
      z.object({
        packageName: androidPackageSchema,
        installed: z.boolean(),
        versionName: z.string().max(64).optional(),
        versionCode: z.number().int().min(0).optional(),
        running: z.boolean().optional(),
        crashes: z.array(z.object({ kind: z.enum(['crash', 'anr']), at: z.string().max(32), detail: z.string().max(300) })).max(20),
      }),
    )
    .max(32),
  /** Commands whose answers could not be read (garbled, cut off, the headset gone mid-probe). */
  unreadable: z.array(z.string().max(64)).max(16).optional(),
});
export type VrInfo = z.infer<typeof vrInfoSchema>;

/**
 * A device as Windows' Plug and Play manager lists it (Get-PnpDevice, Win32_PnPEntity): its setup
 * class, instance id and the Device Manager's problem code (0: none; 22 disabled, 28 no driver,
 * 10 cannot start, 43 stopped after reporting problems, ...).
 */
export const pnpInfoSchema = z.object({
  class: z.string().max(64),
  instanceId: z.string().max(512),
  problemCode: z.number().int().min(0).max(1000).nullable(),
  /** As Windows says it: OK, Error, Degraded, Unknown. */
  status: z.string().max(32).optional(),
  present: z.boolean().optional(),
  service: z.string().max(64).optional(),
});
export type PnpInfo = z.infer<typeof pnpInfoSchema>;

/** A probe failure tied to one device; raw carries the bytes that could not be understood (hex). */
export const deviceErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  raw: z.string().regex(/^[0-9a-f]*$/).optional(),
});
export type DeviceError = z.infer<typeof deviceErrorSchema>;

export const deviceSchema = z.object({
  /** Stable within an agent: the same physical device keeps its id across cycles and restarts. */
  id: z.string().min(1).max(320),
  kind: deviceKindSchema,
  name: z.string().max(256),
  make: z.string().max(256).optional(),
  model: z.string().max(256).optional(),
  serialNumber: z.string().max(256).optional(),
  connection: connectionSchema,
  status: deviceStatusSchema,
  usb: usbInfoSchema.optional(),
  media: mediaInfoSchema.optional(),
  visca: viscaInfoSchema.optional(),
  pjlink: pjlinkInfoSchema.optional(),
  touch: touchInfoSchema.optional(),
  vr: vrInfoSchema.optional(),
  pnp: pnpInfoSchema.optional(),
  error: deviceErrorSchema.optional(),
});
export type Device = z.infer<typeof deviceSchema>;
