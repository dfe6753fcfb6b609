/**
 * The kernel's input devices as `/proc/bus/input/devices` lists them (and as a school pastes it):
 * which USB device each came from and whether it reports touches. A touch frame on USB without
 * such an input device is TOUCH_NO_INPUT: the panel is plugged in, but the system does not know it
 * can be touched (no driver bound, a frame in the wrong mode, a broken report descriptor).
 */

export interface InputDevice {
  bus: number;
  vendorId: number;
  productId: number;
  name: string;
  /** usb-0000:00:14.0-1.4/input0: the USB port is in it. */
  phys: string;
  sysfs: string;
  handlers: string[];
  /** Reports positions directly on a screen (INPUT_PROP_DIRECT) and touches (BTN_TOUCH or ABS_MT_POSITION_X). */
  touch: boolean;
  /** How many contacts it tracks at once, when it says (ABS_MT_SLOT present: a multi-touch device). */
  multiTouch: boolean;
}

const BUS_USB = 0x03;
const INPUT_PROP_DIRECT = 0x01;
const BTN_TOUCH = 0x14a;
const ABS_MT_SLOT = 0x2f;
const ABS_MT_POSITION_X = 0x35;

/**
 * A kernel bitmap as /proc prints it: space-separated hex words, most significant first, each as
 * wide as the kernel's long and printed without leading zeros, so the width cannot be read from
 * the digits ("400 0 0 0 0 0" is BTN_TOUCH). Classroom PCs run 64-bit kernels: 64-bit words.
 */
const WORD_BITS = 64;

function hasBit(words: string | undefined, bit: number): boolean {
  if (!words) return false;
  const parts = words.trim().split(/\s+/).reverse();
  const word = parts[Math.floor(bit / WORD_BITS)];
  if (word === undefined || !/^[0-9a-f]+$/i.test(word)) return false;
  return (BigInt(`0x${word}`) >> BigInt(bit % WORD_BITS)) % 2n === 1n;
}

export function readInputDevices(text: string): InputDevice[] {
  const devices: InputDevice[] = [];
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    const fields = new Map<string, string>();
    const bitmaps = new Map<string, string>();
    for (const line of block.split(/\r?\n/)) {
      const match = /^([IINPSUHB]): (.*)$/.exec(line.trim());
      if (!match) continue;
      const [, letter = '', rest = ''] = match;
      if (letter === 'I') for (const pair of rest.matchAll(/(\w+)=([0-9a-fA-F]+)/g)) fields.set(pair[1] ?? '', pair[2] ?? '');
      else if (letter === 'N') fields.set('Name', /^Name="(.*)"$/.exec(rest)?.[1] ?? rest);
      else if (letter === 'P') fields.set('Phys', rest.replace(/^Phys=/, ''));
      else if (letter === 'S') fields.set('Sysfs', rest.replace(/^Sysfs=/, ''));
      else if (letter === 'H') fields.set('Handlers', rest.replace(/^Handlers=/, ''));
      else if (letter === 'B') {
        const bitmap = /^(\w+)=(.*)$/.exec(rest);
        if (bitmap) bitmaps.set(bitmap[1] ?? '', bitmap[2] ?? '');
      }
    }
    if (!fields.has('Bus') || !fields.has('Name')) continue;
    const direct = hasBit(bitmaps.get('PROP'), INPUT_PROP_DIRECT);
    const touches = hasBit(bitmaps.get('KEY'), BTN_TOUCH) || hasBit(bitmaps.get('ABS'), ABS_MT_POSITION_X);
    devices.push({
      bus: parseInt(fields.get('Bus') ?? '0', 16),
      vendorId: parseInt(fields.get('Vendor') ?? '0', 16),
      productId: parseInt(fields.get('Product') ?? '0', 16),
      name: fields.get('Name') ?? '',
      phys: fields.get('Phys') ?? '',
      sysfs: fields.get('Sysfs') ?? '',
      handlers: (fields.get('Handlers') ?? '').split(/\s+/).filter(Boolean),
      touch: direct && touches,
      multiTouch: hasBit(bitmaps.get('ABS'), ABS_MT_SLOT),
    });
  }
  return devices;
}

/** Whether a USB touch device (by its ids, and its port when known) has a touch input device. */
export function hasTouchInput(inputs: readonly InputDevice[], usb: { vendorId: number; productId: number; port?: string }): boolean {
  return inputs.some(
    (input) => input.bus === BUS_USB && input.vendorId === usb.vendorId && input.productId === usb.productId && input.touch && (usb.port === undefined || input.phys.includes(`-${usb.port}/`) || input.sysfs.includes(`/${usb.port}/`)),
  );
}
