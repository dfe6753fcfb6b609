import type { Device, TouchInfo } from '../../protocol/index.js';
import { usbPortOf } from '../probes/media-match.js';
import type { TouchNode } from './touch-nodes.js';

const HID_CLASS = 0x03;
/** What a classroom can do with each class, most capable first. */
const RANK: ReadonlyArray<TouchInfo['touchClass']> = ['touch-screen', 'pen', 'touch-pad', 'mouse-emulation', 'not-touch', 'unknown'];
const TOUCH_CLASSES: ReadonlySet<TouchInfo['touchClass']> = new Set(['touch-screen', 'pen', 'touch-pad']);
/** A product the catalog names is what it is: a VR headset's touch pad does not make it a touch panel. */
const FINAL_KINDS: ReadonlySet<Device['kind']> = new Set(['vr-headset', 'vr-controller', 'vr-tracking', 'camera', 'capture-card']);

/** The touch facts of a touch panel the kernel made nothing of: no HID device, so no descriptor, no driver, no input. */
const UNBOUND: TouchInfo = { touchClass: 'unknown', driver: null, inputDevices: [] };

/**
 * Gives each USB HID device the touch facts of its HID device(s), and makes it a touch panel when
 * its own report descriptor says it is a touch screen, pen or touch pad (the descriptor, not a
 * vendor list, decides). A device already classed a touch panel (catalog or name) with no HID
 * device at all is one the kernel did not take: it gets UNBOUND, which is TOUCH_NO_INPUT.
 */
export function attachTouchToUsb(devices: readonly Device[], nodes: readonly TouchNode[]): Device[] {
  return devices.map((device) => {
    // No interfaces listed means they are unknown (ids from plain `lsusb`), not that there is no HID one.
    if (!device.usb || (device.usb.interfaces.length > 0 && !device.usb.interfaces.some((i) => i.class === HID_CLASS))) return device;
    const port = usbPortOf(device);
    const { vendorId, productId } = device.usb;
    const own = nodes.filter((node) => (port !== undefined && node.usbPort !== undefined ? node.usbPort === port : node.vendorId === vendorId && node.productId === productId));
    const best = [...own].sort((a, b) => RANK.indexOf(a.touch.touchClass) - RANK.indexOf(b.touch.touchClass))[0];
    // An input device reporting direct touches says the same when the descriptor was not read.
    if (best && (TOUCH_CLASSES.has(best.touch.touchClass) || (best.touch.touchClass === 'unknown' && best.touch.touchInput === true)) && !FINAL_KINDS.has(device.kind)) return { ...device, kind: 'touch-panel', touch: withInputsOf(best.touch, own) };
    if (device.kind !== 'touch-panel') return device;
    return { ...device, touch: best ? withInputsOf(best.touch, own) : { ...UNBOUND, inputDevices: [] } };
  });
}

/** A frame with a mouse interface beside its touch one made input devices of both: the touch interface's own count. */
function withInputsOf(touch: TouchInfo, all: readonly TouchNode[]): TouchInfo {
  const touchInput = all.some((node) => node.touch.touchInput === true) ? true : touch.touchInput;
  return { ...touch, inputDevices: [...touch.inputDevices], ...(touchInput === undefined ? {} : { touchInput }) };
}
