import { untrustedText, type Device, type DeviceKind, type UsbInfo } from '../../protocol/index.js';
import { findInUsbCatalog, type UsbCatalogEntry } from './usb-catalog.js';
import { audioFlow, videoFromConnector, type AudioFlow } from './usb-terminals.js';

/** Names from the usb.ids database, used when the device's own strings are not readable. */
export interface UsbNames {
  vendorName?: string;
  productName?: string;
}

export interface UsbClassification {
  kind: DeviceKind;
  name: string;
  make?: string;
  model?: string;
}

/** USB-IF class codes (usb.org "Defined Class Codes"). */
export const USB_CLASS = {
  audio: 0x01,
  cdcControl: 0x02,
  hid: 0x03,
  hub: 0x09,
  cdcData: 0x0a,
  video: 0x0e,
  audioVideo: 0x10,
  miscellaneous: 0xef,
  vendorSpecific: 0xff,
} as const;

const AUDIO_SUBCLASS = { control: 1, streaming: 2, midi: 3 } as const;

const NAME_MAX_LENGTH = 128;
const STRING_MAX_LENGTH = 256;

/**
 * USB strings come from the device and are untrusted: drop control characters (C0, DEL, C1)
 * and format characters (bidi overrides that can disguise text), collapse whitespace, cap.
 */
export function cleanUsbString(value: string | undefined, maxLength = STRING_MAX_LENGTH): string | undefined {
  if (value === undefined) return undefined;
  const cleaned = untrustedText(value, maxLength) ?? '';
  // Placeholders such as "--" (linux-hardware.org anonymises serials so) or "?" name nothing.
  return /[\p{L}\p{N}]/u.test(cleaned) ? cleaned : undefined;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}

/**
 * The Linux sysfs name of the device: "1-1.4" for bus 1, port 1, then port 4. A root hub has
 * no port chain and is "usb1". A device whose port chain is unknown (parsed from `lsusb -v`,
 * which does not print ports) is named by bus and address instead, so that two identical
 * devices without serial numbers still get two names.
 */
export function usbPortName(info: Pick<UsbInfo, 'busNumber' | 'portPath' | 'deviceAddress'>): string {
  if (info.portPath.length > 0) return `${info.busNumber}-${info.portPath.join('.')}`;
  // Linux gives every root hub address 1; address 0 is what a caller that knows nothing passes.
  const isRootHub = info.deviceAddress <= 1;
  return isRootHub ? `usb${info.busNumber}` : `${info.busNumber}-addr${info.deviceAddress}`;
}

interface InterfaceEvidence {
  video: boolean;
  audioControl: boolean;
  audioStreamingInterfaces: number;
  midi: boolean;
  hid: boolean;
  hub: boolean;
  cdc: boolean;
}

function interfaceEvidence(info: UsbInfo): InterfaceEvidence {
  const streaming = new Set<number>();
  const evidence: InterfaceEvidence = {
    video: info.deviceClass === USB_CLASS.video,
    audioControl: false,
    audioStreamingInterfaces: 0,
    midi: false,
    hid: false,
    hub: info.deviceClass === USB_CLASS.hub,
    cdc: info.deviceClass === USB_CLASS.cdcControl,
  };
  for (const iface of info.interfaces) {
    switch (iface.class) {
      case USB_CLASS.video:
        evidence.video = true;
        break;
      case USB_CLASS.audioVideo:
        // USB Audio/Video Device Class: subclass 1 is AV control, the rest carry both media.
        evidence.video = true;
        evidence.audioControl = true;
        break;
      case USB_CLASS.audio:
        if (iface.subClass === AUDIO_SUBCLASS.control) evidence.audioControl = true;
        else if (iface.subClass === AUDIO_SUBCLASS.streaming) streaming.add(iface.number);
        else if (iface.subClass === AUDIO_SUBCLASS.midi) evidence.midi = true;
        break;
      case USB_CLASS.hid:
        evidence.hid = true;
        break;
      case USB_CLASS.hub:
        evidence.hub = true;
        break;
      case USB_CLASS.cdcControl:
      case USB_CLASS.cdcData:
        evidence.cdc = true;
        break;
    }
  }
  // Alternate settings repeat an interface number; count interfaces, not settings.
  evidence.audioStreamingInterfaces = streaming.size;
  return evidence;
}

const KEYWORDS = {
  capture: /capture|cam ?link|hdmi|\bsdi\b|game ?capture|live ?gamer|grabber/,
  gameController: /controller|gamepad|game ?pad|joystick|dualshock|dualsense/,
  speakerphone: /speakerphone|\bspeak2?\b|conference|\bsync \d{2}\b|\bcx\d{3}\b/,
  headset: /headset|headphone|earphone|earbud|evolve|blackwire|\bsavi\b/,
  microphone: /\bmic\b|microphone|\byeti\b|lavalier|podcast/,
  speaker: /speaker|sound ?bar/,
  serial: /uart|serial|rs-?232|rs-?485/,
  camera: /webcam|camera|\bcam\b|\bbrio\b|摄像/,
  hub: /\bhub\b/,
  touch: /touch ?screen|touch ?panel|multi-?touch|touch ?frame|whiteboard|infrared touch|egalax/,
} as const;

const AUDIO_KINDS: ReadonlySet<DeviceKind> = new Set(['microphone', 'speaker', 'speakerphone', 'headset']);
const VIDEO_KINDS: ReadonlySet<DeviceKind> = new Set(['camera', 'capture-card', 'vr-tracking']);
const VR_KINDS: ReadonlySet<DeviceKind> = new Set(['vr-headset', 'vr-controller', 'vr-tracking']);

/**
 * A vendor default is used only when the interfaces agree with it: Jabra's "headset" default
 * must not turn a Jabra webcam into a headset, and FTDI's "serial-adapter" must not claim an
 * audio device. VR vendors' defaults always apply: a headset carries audio, video and HID.
 */
function vendorDefaultFits(kind: DeviceKind, evidence: InterfaceEvidence): boolean {
  if (VR_KINDS.has(kind)) return true;
  const audio = evidence.audioControl || evidence.audioStreamingInterfaces > 0;
  if (AUDIO_KINDS.has(kind)) return audio && !evidence.video;
  if (VIDEO_KINDS.has(kind)) return evidence.video;
  if (kind === 'hub') return evidence.hub;
  if (kind === 'serial-adapter') return !audio && !evidence.video && !evidence.hub;
  if (kind === 'touch-panel') return evidence.hid && !evidence.video && !audio;
  return true;
}

/**
 * Which kind of audio device this is. Class codes say "audio" but not which way the sound
 * flows, so the rule, in order:
 *  1. words in the product name (speakerphone before speaker: "Jabra SPEAK 510");
 *  2. the vendor's default from the catalog (Jabra and Poly: headset; Shure: microphone), when
 *     the terminals allow it (a vendor's one-way output device is not its microphone);
 *  3. the function's terminals, when they could be read: a headset or speakerphone terminal says
 *     so; sound reaching the host makes a microphone, even with a headphone output beside it (a
 *     USB sound card with a microphone input); sound only from the host is a speaker, DAC or FM
 *     transmitter, never a microphone;
 *  4. without terminals, two or more streaming interfaces (sound in and out) is a headset;
 *  5. one streaming interface is a microphone: in a classroom a one-way USB audio device is a
 *     desk or wireless-mic receiver far more often than a USB speaker. The media probe knows the
 *     ALSA direction and can correct this with `audioKindFromDirections`.
 */
function audioKind(text: string, vendorDefault: DeviceKind | undefined, evidence: InterfaceEvidence, flow: AudioFlow | undefined): DeviceKind {
  // A vendor's default yields to the descriptors: a one-way Shure headphone amplifier is not a microphone.
  const named = audioKindFromNames(text, vendorDefault !== undefined && fitsFlow(vendorDefault, flow) ? vendorDefault : undefined);
  if (named !== undefined) return named;
  const fromTerminals = audioKindFromTerminals(flow);
  if (fromTerminals !== undefined) return fromTerminals;
  if (evidence.audioStreamingInterfaces >= 2) return 'headset';
  if (evidence.audioStreamingInterfaces === 1) return 'microphone';
  return 'other';
}

/** Whether a kind can have the sound directions the terminals show (any kind fits unknown terminals). */
function fitsFlow(kind: DeviceKind, flow: AudioFlow | undefined): boolean {
  if (flow === undefined || (!flow.capture && !flow.playback && !flow.microphone)) return true;
  const capture = flow.capture || flow.microphone;
  if (kind === 'microphone') return capture;
  if (kind === 'speaker') return flow.playback;
  if (kind === 'headset' || kind === 'speakerphone') return capture && flow.playback;
  return true;
}

/** Rule 3; undefined when the terminals say nothing about the direction. */
function audioKindFromTerminals(flow: AudioFlow | undefined): DeviceKind | undefined {
  if (flow === undefined) return undefined;
  if (flow.speakerphone) return 'speakerphone';
  if (flow.headset) return 'headset';
  if (flow.capture || flow.microphone) return 'microphone';
  if (flow.playback) return 'speaker';
  return undefined;
}

/** Rules 1 and 2: what the device's name or its vendor says; undefined when only interfaces are left to guess from. */
function audioKindFromNames(text: string, vendorDefault: DeviceKind | undefined): DeviceKind | undefined {
  if (KEYWORDS.speakerphone.test(text)) return 'speakerphone';
  if (KEYWORDS.headset.test(text)) return 'headset';
  if (KEYWORDS.microphone.test(text)) return 'microphone';
  if (KEYWORDS.speaker.test(text)) return 'speaker';
  if (vendorDefault !== undefined && AUDIO_KINDS.has(vendorDefault)) return vendorDefault;
  return undefined;
}

const GUESSABLE_AUDIO_KINDS: ReadonlySet<DeviceKind> = new Set(['microphone', 'headset', 'speaker']);

/**
 * Corrects an audio kind that rules 3 and 4 guessed from interface counts, once the OS has said
 * which directions the device's sound card has: a one-way USB speaker is not a microphone, and
 * must not be reported as one without a capture device. Named and catalogued kinds stand.
 */
export function refineAudioKindWithMedia(device: Device): Device {
  if (!device.usb || !device.media || !GUESSABLE_AUDIO_KINDS.has(device.kind) || device.media.audioCards.length === 0) return device;
  // The terminals already said which way the sound flows: nothing was guessed.
  if (audioFlow(device.usb.terminals) !== undefined) return device;
  const { product, vendor } = findInUsbCatalog(device.usb.vendorId, device.usb.productId);
  if (product?.kind !== undefined) return device;
  const evidence = interfaceEvidence(device.usb);
  const vendorDefault = vendor?.kind !== undefined && vendorDefaultFits(vendor.kind, evidence) ? vendor.kind : undefined;
  const text = [cleanUsbString(device.usb.product), cleanUsbString(device.usb.productName), product?.model].filter((part) => part !== undefined).join(' ').toLowerCase();
  if (audioKindFromNames(text, vendorDefault) !== undefined) return device;
  const cards = device.media.audioCards;
  const kind = audioKindFromDirections(cards.some((card) => card.capture), cards.some((card) => card.playback));
  return kind === 'other' || kind === device.kind ? device : { ...device, kind };
}

/** The kind of a USB audio device from what ALSA says it can do (capture = microphone). */
export function audioKindFromDirections(capture: boolean, playback: boolean): DeviceKind {
  if (capture && playback) return 'headset';
  if (capture) return 'microphone';
  if (playback) return 'speaker';
  return 'other';
}

function decideKind(info: UsbInfo, text: string, product: UsbCatalogEntry | undefined, vendor: UsbCatalogEntry | undefined): DeviceKind {
  if (product?.kind !== undefined) return product.kind;
  const evidence = interfaceEvidence(info);
  // No interfaces at all means they were not seen (plain `lsusb` ids): nothing contradicts the catalog or the name.
  const unseen = info.interfaces.length === 0;
  const vendorDefault = vendor?.kind !== undefined && (unseen || vendorDefaultFits(vendor.kind, evidence)) ? vendor.kind : undefined;
  if (vendorDefault !== undefined && VR_KINDS.has(vendorDefault)) return vendorDefault;
  if (evidence.hub) return 'hub';
  // A game pad with a headset jack has audio interfaces; it is still not classroom audio.
  if (evidence.hid && !evidence.video && KEYWORDS.gameController.test(text)) return 'other';
  if (evidence.video) {
    // A capture card is fed by a connector (HDMI, SDI, composite), not by a camera sensor.
    if (KEYWORDS.capture.test(text) || vendorDefault === 'capture-card' || videoFromConnector(info.terminals) === true) return 'capture-card';
    // A webcam with a built-in microphone has audio interfaces too: it is a camera.
    return 'camera';
  }
  if (evidence.audioControl || evidence.audioStreamingInterfaces > 0) return audioKind(text, vendorDefault, evidence, audioFlow(info.terminals));
  if (evidence.midi) return 'other';
  if (vendorDefault !== undefined) return vendorDefault;
  if ((evidence.hid || unseen) && KEYWORDS.touch.test(text)) return 'touch-panel';
  if (unseen) {
    // Ids and a name only (plain lsusb, macOS's system_profiler): the name is all the evidence there is.
    if (KEYWORDS.hub.test(text)) return 'hub';
    if (KEYWORDS.capture.test(text)) return 'capture-card';
    if (KEYWORDS.camera.test(text)) return 'camera';
    const audio = audioKindFromNames(text, undefined);
    if (audio !== undefined) return audio;
  }
  if (evidence.cdc) return 'serial-adapter';
  if (KEYWORDS.serial.test(text)) return 'serial-adapter';
  return 'other';
}

/**
 * Decides what a USB device is from its interface classes, the catalog and its names. Pure.
 * The name is the device's product string, else the usb.ids product name, else the catalog
 * model, else "USB device vvvv:pppp".
 */
export function classifyUsb(info: UsbInfo, names?: UsbNames): UsbClassification {
  const { product, vendor } = findInUsbCatalog(info.vendorId, info.productId);
  const productString = cleanUsbString(info.product, NAME_MAX_LENGTH);
  const productName = cleanUsbString(names?.productName ?? info.productName, NAME_MAX_LENGTH);
  const vendorName = cleanUsbString(names?.vendorName ?? info.vendorName, NAME_MAX_LENGTH);
  const catalogModel = product?.model;
  const text = [productString, productName, catalogModel].filter((part) => part !== undefined).join(' ').toLowerCase();

  const result: UsbClassification = {
    kind: decideKind(info, text, product, vendor),
    name: productString ?? productName ?? catalogModel ?? `USB device ${hex4(info.vendorId)}:${hex4(info.productId)}`,
  };
  // A curated brand groups devices better in the cloud than "Logitech, Inc." vs "Logitech".
  const make = product?.make ?? vendor?.make ?? cleanUsbString(info.manufacturer, NAME_MAX_LENGTH) ?? vendorName;
  if (make !== undefined) result.make = make;
  const model = catalogModel ?? productString ?? productName;
  if (model !== undefined) result.model = model;
  return result;
}

function cleanUsbInfo(info: UsbInfo, names: UsbNames | undefined): UsbInfo {
  const cleaned: UsbInfo = { ...info, interfaces: info.interfaces.map((iface) => ({ ...iface })), portPath: [...info.portPath] };
  if (info.terminals !== undefined) cleaned.terminals = info.terminals.map((terminal) => ({ ...terminal }));
  delete cleaned.manufacturer;
  delete cleaned.product;
  delete cleaned.serialNumber;
  delete cleaned.vendorName;
  delete cleaned.productName;
  const strings = {
    manufacturer: cleanUsbString(info.manufacturer),
    product: cleanUsbString(info.product),
    serialNumber: cleanUsbString(info.serialNumber),
    vendorName: cleanUsbString(names?.vendorName ?? info.vendorName),
    productName: cleanUsbString(names?.productName ?? info.productName),
  };
  for (const [key, value] of Object.entries(strings)) {
    if (value !== undefined) cleaned[key as keyof typeof strings] = value;
  }
  return cleaned;
}

/**
 * A protocol Device for one USB device. The id prefers the serial number (stable when the
 * device moves to another port) and falls back to the port (stable while it stays plugged in
 * the same socket, which is how classroom devices live).
 */
export function usbDeviceFromInfo(info: UsbInfo, names?: UsbNames): Device {
  const usb = cleanUsbInfo(info, names);
  const classification = classifyUsb(usb);
  const portName = usbPortName(usb);
  const device: Device = {
    id: `usb:${hex4(usb.vendorId)}:${hex4(usb.productId)}:${usb.serialNumber ?? portName}`.slice(0, 256),
    kind: classification.kind,
    name: classification.name,
    connection: { type: 'usb', bus: usb.busNumber, portPath: portName },
    status: 'ok',
    usb,
  };
  if (classification.make !== undefined) device.make = classification.make;
  if (classification.model !== undefined) device.model = classification.model;
  if (usb.serialNumber !== undefined) device.serialNumber = usb.serialNumber;
  return device;
}
