import { describe, expect, it } from 'vitest';
import { unstableConnections } from '../faults/unstable-connection.js';
import { readKernelUsbLog } from './kernel-usb-log.js';

// The lines the Linux USB core prints (drivers/usb/core/hub.c: "new %s-speed %sUSB device number %d
// using %s", "USB disconnect, device number %d"; generic: "New USB device found, idVendor=..."),
// as a school pastes them, with other drivers' lines and prose around.
const DMESG = `here is what dmesg showed after the board froze:
[ 8123.004512] usb 1-1.4: new full-speed USB device number 17 using xhci_hcd
[ 8123.129980] usb 1-1.4: New USB device found, idVendor=0eef, idProduct=c000, bcdDevice= 1.00
[ 8123.129984] usb 1-1.4: New USB device strings: Mfr=1, Product=2, SerialNumber=0
[ 8123.129987] usb 1-1.4: Product: eGalaxTouch EXC3000-0368-41.00.00
[ 8123.141220] input: eGalax Inc. eGalaxTouch EXC3000-0368-41.00.00 as /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4:1.0/0003:0EEF:C000.0009/input/input31
[ 8184.772341] usb 1-1.4: USB disconnect, device number 17
[ 8186.300112] usb 1-1.4: new full-speed USB device number 18 using xhci_hcd
[ 8186.425001] usb 1-1.4: New USB device found, idVendor=0eef, idProduct=c000, bcdDevice= 1.00
[ 8244.001232] usb 1-1.4: USB disconnect, device number 18
[ 8245.600100] usb 1-1.4: new full-speed USB device number 19 using xhci_hcd
[ 8301.900000] usb 1-1.4: USB disconnect, device number 19
[ 8302.000000] usb 2-1: new SuperSpeed USB device number 3 using xhci_hcd
`;

describe('reading USB connects and disconnects from a pasted kernel log', () => {
  it('reads plain dmesg: port, device number, what the device said it was, and passes over the rest', () => {
    const log = readKernelUsbLog(DMESG);
    expect(log.events.map((event) => [event.port, event.type, event.deviceNumber])).toEqual([
      ['1-1.4', 'connect', 17],
      ['1-1.4', 'disconnect', 17],
      ['1-1.4', 'connect', 18],
      ['1-1.4', 'disconnect', 18],
      ['1-1.4', 'connect', 19],
      ['1-1.4', 'disconnect', 19],
      ['2-1', 'connect', 3],
    ]);
    expect(log.events[0]).toMatchObject({ at: { kind: 'uptime', seconds: 8123.004512 }, vendorId: 0x0eef, productId: 0xc000, product: 'eGalaxTouch EXC3000-0368-41.00.00' });
    expect(log.otherUsbLines).toBe(1);
  });

  it('reads dmesg -T and journalctl -k (short and ISO) with their wall-clock times', () => {
    const human = readKernelUsbLog('[Mon Dec  7 08:01:02 2026] usb 3-2: USB disconnect, device number 4');
    expect(human.events).toEqual([{ port: '3-2', type: 'disconnect', at: { kind: 'wall', ms: Date.UTC(2026, 11, 7, 8, 1, 2) }, deviceNumber: 4 }]);
    const journal = readKernelUsbLog('Dec 07 08:01:02 classroom-pc kernel: usb 3-2: new high-speed USB device number 5 using xhci_hcd', { year: 2026 });
    expect(journal.events[0]).toMatchObject({ port: '3-2', type: 'connect', at: { kind: 'wall', ms: Date.UTC(2026, 11, 7, 8, 1, 2) } });
    const iso = readKernelUsbLog('2026-12-07T08:01:02+0800 classroom-pc kernel: usb 3-2: USB disconnect, device number 5');
    expect(iso.events[0]?.at).toEqual({ kind: 'wall', ms: Date.UTC(2026, 11, 7, 0, 1, 2) });
  });

  it('finds nothing in a log without USB lines, and takes no line that only looks like one', () => {
    expect(readKernelUsbLog('the projector flickers\n[  1.0] e1000e: link up\nusb 1-1: USB disconnect, device number 2')).toEqual({ events: [], otherUsbLines: 0 });
  });

  it('turns a pasted log of a flaky touch frame into an unstable connection with its count and times', () => {
    const events = readKernelUsbLog(DMESG).events.map((event) => ({
      port: event.port,
      type: event.type,
      atMs: event.at.kind === 'uptime' ? event.at.seconds * 1000 : event.at.ms,
      ...(event.product === undefined ? {} : { label: event.product }),
    }));
    const found = unstableConnections(events, 8400 * 1000);
    expect(found).toEqual([
      { port: '1-1.4', label: 'eGalaxTouch EXC3000-0368-41.00.00', disconnects: 3, windowMinutes: 10, disconnectedAt: [8184.772341, 8244.001232, 8301.9].map((seconds) => new Date(seconds * 1000).toISOString()), presentNow: false },
    ]);
    // One unplug for a move is not a fault; nor are disconnects older than the window.
    expect(unstableConnections(events, 8400 * 1000, { threshold: 4 })).toEqual([]);
    expect(unstableConnections(events, 9000 * 1000)).toEqual([]);
  });
});
