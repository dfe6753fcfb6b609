import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { AvcareError, androidPackageSchema, deviceKindSchema, topicIdSchema } from '../protocol/index.js';
import { PLATFORM_PATHS } from './platform/platform-paths.js';

/**
 * A DirectShow device name as `ffmpeg -list_devices` prints it: printable, no quotes and no path
 * separators, so never an option, a file or another device's path. (Control characters through
 * \p{Cc}, which eslint's no-control-regex does not object to.)
 */
export const DSHOW_NAME = /^[^"/\\\p{Cc}-][^"/\\\p{Cc}]{0,255}$/u;

/** A host name is not always a valid topic id (dots are, but spaces or unicode are not). */
function defaultId(): string {
  const cleaned = hostname().replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return cleaned.slice(0, 64) || 'agent';
}

const serialPortSchema = z.object({
  path: z.string().min(1).describe('Device path, e.g. /dev/serial/by-id/usb-FTDI_...-if00-port0 or /dev/ttyUSB0'),
  protocol: z.enum(['visca', 'none']).default('visca'),
  baudRate: z.union([z.literal(9600), z.literal(19200), z.literal(38400)]).default(9600).describe('VISCA runs at 9600 8N1; some cameras at 19200 or 38400'),
  address: z.number().int().min(1).max(7).default(1).describe('VISCA camera address 1-7'),
  name: z.string().max(128).optional(),
});

const pjlinkTargetSchema = z.object({
  host: z.string().min(1).max(253).describe('Projector or display address (DNS names are at most 253 characters)'),
  port: z.number().int().min(1).max(65535).default(4352),
  password: z.string().max(32).optional().describe('PJLink password; never logged'),
  name: z.string().max(128).optional(),
  lampLifeHours: z.number().int().positive().max(100_000).default(3000).describe("Rated lamp life from the projector's manual"),
});

const viscaIpTargetSchema = z.object({
  host: z.string().min(1).max(253).describe('Camera address'),
  port: z.number().int().min(1).max(65535).optional().describe('Defaults to 52381 (sony-ip, raw-udp) or 5678 (raw-tcp); "auto" without a port tries 52381, 1259 and 5678'),
  framing: z.enum(['sony-ip', 'raw-udp', 'raw-tcp', 'auto']).default('auto').describe('How VISCA travels: Sony\'s header over UDP, bare bytes over UDP or TCP; "auto" tries each and reports the one that answered'),
  address: z.number().int().min(1).max(7).default(1).describe('VISCA camera address; 1 for nearly every IP camera'),
  name: z.string().max(128).optional(),
});

const vrHeadsetTargetSchema = z.object({
  host: z.string().min(1).max(253).describe('Address of a headset reached over Wi-Fi (adb tcpip), e.g. 192.0.2.80'),
  port: z.number().int().min(1).max(65535).default(5555).describe('Its ADB port; 5555 after `adb tcpip 5555`'),
  name: z.string().max(128).optional().describe('How the class names it, e.g. "cart A #3"'),
});

const expectedDeviceSchema = z.object({
  kind: deviceKindSchema,
  connection: z
    .enum(['usb', 'serial', 'network', 'adb'])
    .optional()
    .describe('Where to look for it; defaults to network for projectors and displays, adb for VR headsets (on USB or Wi-Fi), usb otherwise'),
  label: z.string().max(128).optional().describe('How a person names it, e.g. "front camera"'),
  vendorId: z.number().int().min(0).max(0xffff).optional(),
  productId: z.number().int().min(0).max(0xffff).optional(),
  serialNumber: z.string().optional(),
  count: z.number().int().min(1).max(200).default(1).describe('How many such devices: a cart of 30 headsets is one entry with count 30, reported as "30 expected, 27 seen"'),
});

export const agentConfigSchema = z
  .object({
    agentId: topicIdSchema.default(defaultId).describe('Defaults to the host name'),
    schoolId: topicIdSchema.default('unassigned'),
    roomId: topicIdSchema.default(defaultId),
    stateDir: z.string().min(1).optional().describe('Where the agent keeps learned devices; defaults to /var/lib/avcare as root or a service, else ~/.local/state/avcare'),
    probeIntervalSeconds: z.number().int().min(5).max(3600).default(60),
    probeTimeoutSeconds: z.number().min(1).max(120).default(10).describe('Each probe is aborted after this and reported as an error'),
    serialPorts: z.array(serialPortSchema).max(32).default([]),
    discoverSerialPorts: z.boolean().default(true).describe('List /dev/serial/by-id, ttyUSB and ttyACM ports; only configured ports are spoken to'),
    pjlink: z.array(pjlinkTargetSchema).max(32).default([]),
    viscaIp: z.array(viscaIpTargetSchema).max(32).default([]).describe('PTZ cameras controlled over the network'),
    expectedDevices: z.array(expectedDeviceSchema).max(64).default([]),
    vrHeadsets: z.array(vrHeadsetTargetSchema).max(64).default([]).describe('Headsets reached over the network; those on USB are found by themselves'),
    vr: z
      .object({
        apps: z.array(androidPackageSchema).max(32).default([]).describe("The class's VR apps by package name (com.school.vrlab): version, running, crashes"),
        usb: z.boolean().default(true).describe('Look for headsets on USB (through a running adb server, else directly)'),
        adbServerPort: z.number().int().min(1).max(65535).default(5037).describe('Where an adb server on this PC listens; when one runs, USB headsets are reached through it'),
        authorizeWaitSeconds: z.number().min(1).max(60).default(4).describe('How long a headset may take to accept this PC\'s ADB key before it counts as not authorized'),
        probeTimeoutSeconds: z.number().int().min(5).max(300).default(30).describe('How long reading all headsets may take (a cart of 30 over Wi-Fi); the other probes keep their own timeout'),
        crashWindowMinutes: z.number().int().min(5).max(1440).default(60).describe('A crash or "not responding" this recent (by the headset\'s clock) is a fault'),
      })
      .strict()
      .prefault({}),
    learnExpectedDevices: z.boolean().default(true).describe('Expect devices this room has had before (the room had a camera yesterday)'),
    forgetLearnedAfterDays: z.number().int().min(1).max(365).default(14).describe('A learned device not seen for this long is no longer expected'),
    thresholds: z
      .object({
        diskUsePercent: z.number().min(50).max(100).default(90),
        cpuLoadPercent: z.number().min(50).max(100).default(90),
        cpuSustainedCycles: z.number().int().min(1).max(100).default(5).describe('Consecutive cycles above cpuLoadPercent before CPU_SUSTAINED_HIGH'),
        lampLifeWarnPercent: z.number().min(50).max(100).default(90).describe('Raise LAMP_END_OF_LIFE when lamp hours reach this share of lampLifeHours'),
        unstableDisconnects: z.number().int().min(2).max(100).default(3).describe('USB disconnects of one port within unstableWindowMinutes that raise DEVICE_UNSTABLE_CONNECTION'),
        unstableWindowMinutes: z.number().int().min(1).max(24 * 60).default(10),
        vrBatteryLowPercent: z.number().int().min(5).max(95).default(30).describe('Raise VR_BATTERY_LOW at or below this headset battery level'),
        vrControllerBatteryLowPercent: z.number().int().min(5).max(95).default(20),
        vrStorageLowGb: z.number().min(0.5).max(64).default(2).describe('Raise VR_STORAGE_LOW when a headset has less free storage'),
        vrOverheatC: z.number().min(35).max(70).default(45).describe('Raise VR_OVERHEATING at or above this battery temperature'),
        cameraHeldMinutes: z.number().int().min(10).max(24 * 60).default(120).describe('Raise CAMERA_HELD_BY_APP when one program has held the camera this long (Windows): longer than a lesson, so the next lesson\'s app is refused it'),
      })
      .prefault({}),
    cameraHoldersExpected: z
      .array(z.string().min(1).max(260).regex(/^[^\\/:*?"<>|]+$/, 'a program\'s file name, such as "recorder.exe", without its folder'))
      .max(32)
      .default([])
      .describe('Programs that hold the camera all day on purpose (a lecture-capture recorder): never CAMERA_HELD_BY_APP'),
    classApps: z
      .array(z.string().min(1).max(260).regex(/^[A-Za-z0-9][\w.-]*$/, 'a macOS bundle id, such as "com.example.classroom"'))
      .max(64)
      .default([])
      .describe("The class's own meeting and teaching programs on a Mac, by bundle id, besides the well-known ones: one refused the camera or microphone is a fault"),
    hysteresis: z
      .object({
        raiseAfterCycles: z.number().int().min(1).max(20).default(2).describe('Consecutive cycles a fault must be seen before it is raised'),
        clearAfterCycles: z.number().int().min(1).max(50).default(3).describe('Consecutive clean cycles before a raised fault is cleared'),
      })
      .prefault({}),
    broker: z
      .object({
        url: z.string().regex(/^mqtts?:\/\/[^\s]+$/, 'must be an mqtt:// or mqtts:// URL').optional().describe('MQTT broker of the avcare cloud; without it the agent only prints'),
        caFile: z.string().min(1).optional().describe('CA certificate (PEM) to verify an mqtts:// broker'),
        username: z.string().max(256).optional(),
        password: z.string().max(256).optional().describe('Never logged'),
        keepaliveSeconds: z.number().int().min(5).max(600).default(30),
        insecurePlaintext: z
          .boolean()
          .default(false)
          .describe('Send the password over plain mqtt:// to another machine (a trusted network only); otherwise only mqtts:// or this machine'),
      })
      .prefault({}),
    remediation: z
      .object({
        enabled: z.boolean().default(true).describe('Before raising a fault, try the obvious fix (re-probe, USB reset, VISCA re-init, PJLink reconnect) and report what was tried'),
        cooldownMinutes: z.number().int().min(1).max(1440).default(30).describe('The same fix is not tried again for the same fault within this time, so a device that stays broken is not reset every cycle'),
        budgetSeconds: z.number().int().min(1).max(60).default(10).describe('Most time the fixes may add to one probe cycle'),
      })
      .prefault({}),
    healthIntervalSeconds: z.number().int().min(5).max(3600).default(30).describe('How often a health sample is sent'),
    outbox: z
      .object({
        maxEvents: z.number().int().min(100).max(10_000_000).default(100_000).describe('Bound of unsent events kept on disk while the cloud is unreachable'),
      })
      .prefault({}),
    measure: z
      .object({
        acceptCloudRequests: z.boolean().default(true).describe("Run the tests the cloud asks for (its schedule in school hours, the room-ready check before lessons)"),
        minMinutesBetweenRequested: z.number().int().min(1).max(1440).default(10).describe('A test the cloud asks for sooner than this after the last one is declined'),
        durationSeconds: z.number().int().min(5).max(120).default(20).describe('How long the network test sends media'),
        videoKbps: z.number().int().min(300).max(8000).default(1500).describe('Video bitrate of the network test (classroom setting)'),
        raiseAfterTests: z.number().int().min(1).max(10).default(2).describe('Bad tests in a row before a network or A/V sync fault is raised'),
        clearAfterTests: z.number().int().min(1).max(10).default(2).describe('Good tests in a row before it is cleared'),
        room: z
          .object({
            enabled: z.boolean().default(true).describe('The A/V sync test also measures the room: flash and beep on the display and speakers, captured by the camera and microphone'),
            camera: z
              .union([z.string().regex(/^\/dev\/video\d+$/), z.string().regex(DSHOW_NAME, 'a /dev/videoN node, or a DirectShow name as ffmpeg -list_devices prints it')])
              .optional()
              .describe('The camera to capture (/dev/videoN on Linux; its DirectShow name on Windows); the first capture device when unset'),
            microphone: z
              .union([z.string().regex(/^[\w:=,.-]{1,128}$/), z.string().regex(DSHOW_NAME, 'an ALSA device such as plughw:CARD=C920, or a DirectShow name as ffmpeg -list_devices prints it')])
              .optional()
              .describe('The device to record (ALSA\'s plughw:CARD=C920 on Linux; its DirectShow name on Windows); the first that records when unset'),
            display: z.string().regex(/^[\w.-]*:\d+(\.\d+)?$/).optional().describe('The X display to flash (":0"); the desktop session\'s when unset'),
          })
          .strict()
          .prefault({}),
      })
      .prefault({}),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
export type SerialPortConfig = AgentConfig['serialPorts'][number];
export type PjlinkTargetConfig = AgentConfig['pjlink'][number];
export type ViscaIpTargetConfig = AgentConfig['viscaIp'][number];
export type VrHeadsetTargetConfig = AgentConfig['vrHeadsets'][number];
export type ExpectedDevice = AgentConfig['expectedDevices'][number];

/** The installed service's: /etc/avcare/agent.json, %ProgramData%\\avcare\\agent.json, /Library/Application Support/avcare/agent.json. */
export const DEFAULT_CONFIG_PATH = PLATFORM_PATHS.serviceConfigFile;

/** Validates a parsed config object; the error names every bad field with its path. */
export function parseAgentConfig(input: unknown, source = 'configuration'): AgentConfig {
  const parsed = agentConfigSchema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  throw new AvcareError('CONFIG_INVALID', `${source} is invalid:\n  ${problems.join('\n  ')}`, { source, problems });
}

/** The config file the agent reads: --config, else $AVCARE_CONFIG, else the default path. */
export function configFilePath(path: string | undefined): string {
  return path ?? (process.env.AVCARE_CONFIG || undefined) ?? DEFAULT_CONFIG_PATH;
}

/**
 * Loads the config file. An explicit path must exist; the default path is optional, so the
 * agent works with no file at all.
 */
export function loadAgentConfig(path: string | undefined): AgentConfig {
  // An empty variable counts as unset, as shells and systemd units leave it.
  const fromEnv = process.env.AVCARE_CONFIG || undefined;
  const file = configFilePath(path);
  const explicit = path !== undefined || fromEnv !== undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return parseAgentConfig({}, 'default configuration');
    throw new AvcareError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AvcareError('CONFIG_INVALID', `${file} is not valid JSON: ${(error as Error).message}`, { file }, { cause: error });
  }
  return parseAgentConfig(json, file);
}
