import type { DeviceKind } from '../../protocol/index.js';

/**
 * AV and VR hardware we know by USB id, kept as data so that adding a device is one line.
 *
 * A product entry's `kind` is final: it wins over what the interface classes suggest (a Rift
 * sensor is a UVC camera but it is VR tracking). A vendor entry's `kind` is only a default,
 * used when it agrees with the interfaces (see usb-classify.ts): Jabra audio is a headset unless
 * its name says speakerphone, but a Jabra webcam is still a camera.
 *
 * Sources: /work/shared/domain.md "USB identification" (copied here, tests cannot read it),
 * the usb.ids database, Monado's and ouvrt's VR driver headers, and the lsusb dumps under
 * test/fixtures/usb/. Entries marked UNCERTAIN come from community sources only.
 */
export interface UsbCatalogEntry {
  readonly vendorId: number;
  /** Absent: the entry describes the whole vendor. */
  readonly productId?: number;
  readonly make: string;
  readonly model?: string;
  readonly kind?: DeviceKind;
}

export const USB_CATALOG: readonly UsbCatalogEntry[] = [
  // --- VR ---------------------------------------------------------------------------------
  // Everything Oculus/Meta ships on USB is part of a VR set.
  { vendorId: 0x2833, make: 'Meta (Oculus)', kind: 'vr-headset' },
  { vendorId: 0x2833, productId: 0x0001, make: 'Meta (Oculus)', model: 'Rift DK1 tracker', kind: 'vr-headset' },
  { vendorId: 0x2833, productId: 0x0021, make: 'Meta (Oculus)', model: 'Rift DK2', kind: 'vr-headset' },
  { vendorId: 0x2833, productId: 0x0031, make: 'Meta (Oculus)', model: 'Rift CV1', kind: 'vr-headset' },
  { vendorId: 0x2833, productId: 0x0137, make: 'Meta (Oculus)', model: 'Quest', kind: 'vr-headset' },
  // DK2 positional camera (ouvrt usb-ids.h): a UVC camera that only serves tracking.
  { vendorId: 0x2833, productId: 0x0201, make: 'Meta (Oculus)', model: 'Rift DK2 camera', kind: 'vr-tracking' },
  // UNCERTAIN: Rift CV1 sensor id from community udev rules.
  { vendorId: 0x2833, productId: 0x0211, make: 'Meta (Oculus)', model: 'Rift sensor', kind: 'vr-tracking' },
  // Valve also makes the Steam Controller and Steam Deck (28de:11xx/12xx), so no vendor default.
  { vendorId: 0x28de, productId: 0x2000, make: 'Valve', model: 'Lighthouse FPGA RX', kind: 'vr-tracking' },
  { vendorId: 0x28de, productId: 0x2012, make: 'Valve', model: 'VR controller (wired)', kind: 'vr-controller' },
  { vendorId: 0x28de, productId: 0x2101, make: 'Valve', model: 'Watchman dongle', kind: 'vr-controller' },
  // Monado vive_controller_interface.h: VIVE_WATCHMAN_DONGLE_GEN2.
  { vendorId: 0x28de, productId: 0x2102, make: 'Valve', model: 'Watchman dongle (gen 2)', kind: 'vr-controller' },
  // Monado vive.h: VIVE_PRO_LHR_PID, the lighthouse receiver of the Vive Pro and Index.
  { vendorId: 0x28de, productId: 0x2300, make: 'Valve', model: 'Lighthouse receiver (Vive Pro / Index)', kind: 'vr-tracking' },
  { vendorId: 0x28de, productId: 0x2500, make: 'Valve', model: 'Lighthouse base station', kind: 'vr-tracking' },
  // HTC's vendor id also covers its Android phones, so no vendor default.
  { vendorId: 0x0bb4, productId: 0x2c87, make: 'HTC', model: 'Vive', kind: 'vr-headset' },
  // Monado vive.h: VIVE_PRO_MAINBOARD_PID.
  { vendorId: 0x0bb4, productId: 0x0309, make: 'HTC', model: 'Vive Pro', kind: 'vr-headset' },
  // The Vive's link-box/headset hub ("CB USB2" in dmesg of a Vive): a hub, not the headset.
  { vendorId: 0x0bb4, productId: 0x2744, make: 'HTC', model: 'Vive hub', kind: 'hub' },
  // UNCERTAIN: Pico ids come from community sources only.
  { vendorId: 0x2d40, make: 'Pico', kind: 'vr-headset' },
  { vendorId: 0x03f0, productId: 0x0c6a, make: 'HP', model: 'Reverb G1', kind: 'vr-headset' },
  { vendorId: 0x03f0, productId: 0x0580, make: 'HP', model: 'Reverb G2', kind: 'vr-headset' },
  { vendorId: 0x054c, productId: 0x09af, make: 'Sony', model: 'PlayStation VR', kind: 'vr-headset' },
  { vendorId: 0x054c, productId: 0x0cde, make: 'Sony', model: 'PlayStation VR2', kind: 'vr-headset' },
  // ouvrt usb-ids.h: Windows Mixed Reality headset sensors and motion controller.
  { vendorId: 0x045e, productId: 0x0659, make: 'Microsoft', model: 'Mixed Reality headset sensors', kind: 'vr-headset' },
  { vendorId: 0x045e, productId: 0x065b, make: 'Microsoft', model: 'Mixed Reality motion controller', kind: 'vr-controller' },

  // --- Game controllers: they carry audio (a headset jack) but are not classroom audio ------
  { vendorId: 0x045e, productId: 0x028e, make: 'Microsoft', model: 'Xbox 360 controller', kind: 'other' },
  { vendorId: 0x045e, productId: 0x02d1, make: 'Microsoft', model: 'Xbox One controller', kind: 'other' },
  { vendorId: 0x045e, productId: 0x02dd, make: 'Microsoft', model: 'Xbox One controller', kind: 'other' },
  { vendorId: 0x045e, productId: 0x02ea, make: 'Microsoft', model: 'Xbox One S controller', kind: 'other' },
  { vendorId: 0x054c, productId: 0x05c4, make: 'Sony', model: 'DualShock 4', kind: 'other' },
  { vendorId: 0x054c, productId: 0x09cc, make: 'Sony', model: 'DualShock 4 (v2)', kind: 'other' },
  { vendorId: 0x054c, productId: 0x0ce6, make: 'Sony', model: 'DualSense', kind: 'other' },

  // --- Cameras and conference devices -----------------------------------------------------
  { vendorId: 0x046d, make: 'Logitech' },
  { vendorId: 0x046d, productId: 0x0825, make: 'Logitech', model: 'Webcam C270' },
  { vendorId: 0x046d, productId: 0x082d, make: 'Logitech', model: 'HD Pro Webcam C920' },
  { vendorId: 0x046d, productId: 0x085c, make: 'Logitech', model: 'C922 Pro Stream Webcam' },
  { vendorId: 0x046d, productId: 0x0843, make: 'Logitech', model: 'Webcam C930e' },
  { vendorId: 0x046d, productId: 0x085e, make: 'Logitech', model: 'BRIO' },
  // A ConferenceCam is a camera with a speakerphone built in; it keeps "camera" (from its video
  // interfaces) because a missing picture is the failure a teacher notices first.
  { vendorId: 0x046d, productId: 0x0837, make: 'Logitech', model: 'ConferenceCam BCC950' },
  // UNCERTAIN: whether 0882 is the Group's camera or its speakerphone; the interfaces decide.
  { vendorId: 0x046d, productId: 0x0882, make: 'Logitech', model: 'Group' },
  { vendorId: 0x046d, productId: 0x0a01, make: 'Logitech', model: 'USB Headset', kind: 'headset' },
  { vendorId: 0x045e, make: 'Microsoft' },
  { vendorId: 0x045e, productId: 0x075d, make: 'Microsoft', model: 'LifeCam Cinema' },
  { vendorId: 0x045e, productId: 0x076d, make: 'Microsoft', model: 'LifeCam HD-5000' },
  { vendorId: 0x095d, make: 'Polycom', kind: 'speakerphone' },
  { vendorId: 0x6993, make: 'Yealink' },

  // --- Audio ------------------------------------------------------------------------------
  // Jabra makes both headsets (Evolve, Link dongles) and speakerphones (Speak): the default is
  // headset and "Speak" in the name makes a speakerphone.
  { vendorId: 0x0b0e, make: 'Jabra', kind: 'headset' },
  { vendorId: 0x0b0e, productId: 0x0420, make: 'Jabra', model: 'Speak 510', kind: 'speakerphone' },
  { vendorId: 0x0b0e, productId: 0x0422, make: 'Jabra', model: 'Speak 510', kind: 'speakerphone' },
  { vendorId: 0x0b0e, productId: 0x2456, make: 'Jabra', model: 'Speak 810', kind: 'speakerphone' },
  { vendorId: 0x0b0e, productId: 0x24f1, make: 'Jabra', model: 'Speak2 75', kind: 'speakerphone' },
  { vendorId: 0x0b0e, productId: 0x24c8, make: 'Jabra', model: 'Link 380', kind: 'headset' },
  // UNCERTAIN: 0412 is the Speak 410 by fwupd's Jabra plugin (its example id) and community lists.
  { vendorId: 0x0b0e, productId: 0x0412, make: 'Jabra', model: 'Speak 410', kind: 'speakerphone' },
  { vendorId: 0x047f, make: 'Poly (Plantronics)', kind: 'headset' },
  { vendorId: 0x047f, productId: 0xc008, make: 'Poly (Plantronics)', model: '.Audio 655 DSP', kind: 'headset' },
  { vendorId: 0x14ed, make: 'Shure', kind: 'microphone' },

  // --- Capture cards ----------------------------------------------------------------------
  // Elgato also makes Stream Decks (HID keypads, 0fd9:006d/0080), so capture is per product.
  { vendorId: 0x0fd9, make: 'Elgato' },
  { vendorId: 0x0fd9, productId: 0x0066, make: 'Elgato', model: 'Cam Link 4K', kind: 'capture-card' },
  { vendorId: 0x0fd9, productId: 0x009c, make: 'Elgato', model: '4K X', kind: 'capture-card' },
  // Magewell only makes capture devices.
  { vendorId: 0x2935, make: 'Magewell', kind: 'capture-card' },
  // MacroSilicon makes HDMI capture chips (MS2109, MS2130): the cheap USB HDMI dongles name
  // themselves "USB Video" and report a camera sensor, so only the vendor tells them apart.
  { vendorId: 0x534d, make: 'MacroSilicon', kind: 'capture-card' },
  // AVerMedia also sells webcams, so its video devices are decided by name ("Live Gamer", "capture").
  { vendorId: 0x07ca, make: 'AVerMedia' },

  // --- Serial adapters (VISCA cameras hang off these) --------------------------------------
  { vendorId: 0x0403, make: 'FTDI', kind: 'serial-adapter' },
  { vendorId: 0x0403, productId: 0x6001, make: 'FTDI', model: 'FT232R USB UART', kind: 'serial-adapter' },
  { vendorId: 0x067b, make: 'Prolific', kind: 'serial-adapter' },
  { vendorId: 0x067b, productId: 0x2303, make: 'Prolific', model: 'PL2303', kind: 'serial-adapter' },
  { vendorId: 0x1a86, make: 'WCH', kind: 'serial-adapter' },
  { vendorId: 0x1a86, productId: 0x7523, make: 'WCH', model: 'CH340', kind: 'serial-adapter' },
  { vendorId: 0x10c4, make: 'Silicon Labs', kind: 'serial-adapter' },
  { vendorId: 0x10c4, productId: 0xea60, make: 'Silicon Labs', model: 'CP210x UART bridge', kind: 'serial-adapter' },

  // --- Touch frames of interactive panels and whiteboards: only hints, the HID report descriptor
  // decides (touch-match.ts); a frame whose descriptor the kernel never read is known by these.
  // Vendor ids from the kernel's drivers/hid/hid-ids.h (USB_VENDOR_ID_DWAV, _ILITEK, _IRTOUCHSYSTEMS).
  { vendorId: 0x0eef, make: 'eGalax (D-WAV)', kind: 'touch-panel' },
  { vendorId: 0x222a, make: 'ILITEK', kind: 'touch-panel' },
  { vendorId: 0x6615, make: 'IRTOUCH', kind: 'touch-panel' },
  // usb.ids: 0b8c SMART Technologies Inc. (SMART Board interactive whiteboards and displays).
  { vendorId: 0x0b8c, make: 'SMART Technologies', kind: 'touch-panel' },
  // --- Hubs -------------------------------------------------------------------------------
  { vendorId: 0x1d6b, make: 'Linux Foundation', kind: 'hub' },
];

export interface UsbCatalogMatch {
  product?: UsbCatalogEntry;
  vendor?: UsbCatalogEntry;
}

export function findInUsbCatalog(vendorId: number, productId: number, catalog: readonly UsbCatalogEntry[] = USB_CATALOG): UsbCatalogMatch {
  const match: UsbCatalogMatch = {};
  for (const entry of catalog) {
    if (entry.vendorId !== vendorId) continue;
    if (entry.productId === productId) match.product ??= entry;
    else if (entry.productId === undefined) match.vendor ??= entry;
  }
  return match;
}
