/**
 * Reads a USB HID report descriptor (HID 1.11, section 6.2.2) far enough to say what a touch
 * device is: its application collections (a touch screen, a pen, a touch pad, or a frame that only
 * emulates a mouse), how many contacts it reports at most (the Contact Count Maximum feature, or
 * the finger collections of its input report), and what is wrong with the descriptor itself. A
 * descriptor is the device's own claim: a truncated item, a length it does not have, or an
 * unbalanced collection is a finding, never an exception.
 */

/** Usage pages and usages this reader names (HID Usage Tables 1.4). */
const GENERIC_DESKTOP = 0x01;
const DIGITIZERS = 0x0d;
const DIGITIZER_USAGES: Record<number, string> = { 0x01: 'digitizer', 0x02: 'pen', 0x04: 'touch-screen', 0x05: 'touch-pad', 0x06: 'whiteboard', 0x22: 'finger' };
const DESKTOP_USAGES: Record<number, string> = { 0x01: 'pointer', 0x02: 'mouse', 0x06: 'keyboard' };
const CONTACT_IDENTIFIER = 0x51;
const CONTACT_COUNT_MAXIMUM = 0x55;

export type TouchClass = 'touch-screen' | 'pen' | 'touch-pad' | 'mouse-emulation' | 'not-touch';

export interface HidApplication {
  usagePage: number;
  usage: number;
  /** touch-screen, pen, mouse, ... or `page:usage` in hex for one this reader does not name. */
  name: string;
}

export interface HidDescriptorReading {
  applications: HidApplication[];
  /** What the device is to a classroom: the most capable of its applications. */
  touchClass: TouchClass;
  /** Contact Count Maximum, else the finger collections of a touch application; null when it says neither. */
  maxContacts: number | null;
  /** Where the descriptor contradicts itself, with the byte offset. */
  problems: string[];
}

interface GlobalState {
  usagePage: number;
  logicalMaximum: number;
}

function applicationName(usagePage: number, usage: number): string {
  const named = usagePage === DIGITIZERS ? DIGITIZER_USAGES[usage] : usagePage === GENERIC_DESKTOP ? DESKTOP_USAGES[usage] : undefined;
  return named ?? `${usagePage.toString(16).padStart(2, '0')}:${usage.toString(16).padStart(2, '0')}`;
}

/** An item's data, little-endian; Logical Minimum/Maximum are signed when their top bit is set, like every HID parser reads them. */
function itemValue(bytes: Uint8Array, offset: number, size: number, signed: boolean): number {
  let value = 0;
  for (let index = size - 1; index >= 0; index -= 1) value = value * 256 + (bytes[offset + index] ?? 0);
  if (signed && size > 0 && value >= 2 ** (size * 8 - 1)) value -= 2 ** (size * 8);
  return value;
}

export function readHidDescriptor(descriptor: Uint8Array): HidDescriptorReading {
  const applications: HidApplication[] = [];
  const problems: string[] = [];
  const globals: GlobalState = { usagePage: 0, logicalMaximum: 0 };
  const globalStack: GlobalState[] = [];
  let usages: Array<{ page: number; usage: number }> = [];
  /** Open collections: whether each is an application, and the touch application it lies in. */
  const collections: Array<{ application: HidApplication | undefined }> = [];
  let contactMax: number | null = null;
  const fingers = new Map<HidApplication, number>();

  let offset = 0;
  while (offset < descriptor.length) {
    const prefix = descriptor[offset] ?? 0;
    if (prefix === 0xfe) {
      // A long item: its size is in the next byte; nothing in it matters here.
      const length = descriptor[offset + 1];
      if (length === undefined || offset + 3 + length > descriptor.length) {
        problems.push(`a long item at byte ${offset} runs past the end of the descriptor (${descriptor.length} bytes)`);
        break;
      }
      offset += 3 + length;
      continue;
    }
    const size = [0, 1, 2, 4][prefix & 0x03] ?? 0;
    const type = (prefix >> 2) & 0x03;
    const tag = prefix >> 4;
    if (offset + 1 + size > descriptor.length) {
      problems.push(`the item at byte ${offset} says it has ${size} byte(s) of data but the descriptor ends at byte ${descriptor.length}`);
      break;
    }
    const unsigned = itemValue(descriptor, offset + 1, size, false);
    if (type === 0) {
      // Main items: they use up the local usages.
      if (tag === 0x0a) {
        const first = usages[0];
        const kind = unsigned;
        let application: HidApplication | undefined = collections.at(-1)?.application;
        if (kind === 0x01 && first) {
          application = { usagePage: first.page, usage: first.usage, name: applicationName(first.page, first.usage) };
          if (collections.some((open) => open.application)) problems.push(`an application collection at byte ${offset} is nested inside another`);
          applications.push(application);
        } else if (first && first.page === DIGITIZERS && first.usage === 0x22 && application) {
          fingers.set(application, (fingers.get(application) ?? 0) + 1);
        }
        collections.push({ application });
      } else if (tag === 0x0c) {
        if (collections.length === 0) problems.push(`an End Collection at byte ${offset} closes no collection`);
        collections.pop();
      } else if (tag === 0x0b && usages.some((entry) => entry.page === DIGITIZERS && entry.usage === CONTACT_COUNT_MAXIMUM)) {
        contactMax = globals.logicalMaximum;
      } else if (tag === 0x08 && usages.some((entry) => entry.page === DIGITIZERS && entry.usage === CONTACT_IDENTIFIER)) {
        // A contact identifier outside any finger collection still names one contact slot.
        const application = collections.at(-1)?.application;
        if (application && !fingers.has(application)) fingers.set(application, 0);
      }
      usages = [];
    } else if (type === 1) {
      if (tag === 0x0) globals.usagePage = unsigned;
      else if (tag === 0x2) globals.logicalMaximum = itemValue(descriptor, offset + 1, size, true);
      else if (tag === 0xa) globalStack.push({ ...globals });
      else if (tag === 0xb) {
        const restored = globalStack.pop();
        if (restored) Object.assign(globals, restored);
        else problems.push(`a Pop at byte ${offset} has no Push`);
      }
    } else if (type === 2 && tag === 0x0) {
      // A 4-byte usage carries its own page in the high half.
      usages.push(size === 4 ? { page: Math.floor(unsigned / 0x10000), usage: unsigned & 0xffff } : { page: globals.usagePage, usage: unsigned });
    }
    offset += 1 + size;
  }
  if (collections.length > 0) problems.push(`${collections.length} collection(s) never closed`);

  const names = new Set(applications.map((application) => application.name));
  const touchClass: TouchClass = names.has('touch-screen') || names.has('whiteboard') ? 'touch-screen' : names.has('pen') ? 'pen' : names.has('touch-pad') ? 'touch-pad' : names.has('mouse') ? 'mouse-emulation' : 'not-touch';
  const touchApplication = applications.find((application) => application.name === 'touch-screen' || application.name === 'whiteboard' || application.name === 'touch-pad');
  const fingerCount = touchApplication ? fingers.get(touchApplication) : undefined;
  const maxContacts = contactMax !== null && contactMax > 0 ? contactMax : fingerCount !== undefined && fingerCount > 0 ? fingerCount : touchClass === 'touch-screen' || touchClass === 'pen' ? 1 : null;
  return { applications, touchClass, maxContacts, problems };
}
