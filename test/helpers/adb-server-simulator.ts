/**
 * An adb server on the PC, as far as the headset probe uses one (the host side of adb's smart
 * socket protocol, SERVICES.TXT): `host:version`, `host:devices-l`, switching a connection to a
 * device by transport id, `host:features`, and `exec:` services answered from recorded outputs.
 * Through it the probe reaches USB headsets that a vendor tool's adb server holds.
 */
import type { Socket } from 'node:net';
import { LoopbackPeer } from './loopback-peer.js';

export interface ServerHeadset {
  serial: string;
  state: 'device' | 'unauthorized' | 'offline';
  model?: string;
  answer?: (command: string) => string | undefined;
}

export class SimulatedAdbServer extends LoopbackPeer {
  readonly requests: string[] = [];

  constructor(private readonly headsets: readonly ServerHeadset[]) {
    super();
  }

  protected serve(socket: Socket): void {
    let pending = Buffer.alloc(0);
    let device: ServerHeadset | undefined;
    const okay = (payload?: string): void => {
      socket.write(payload === undefined ? 'OKAY' : `OKAY${hex4(Buffer.byteLength(payload))}${payload}`);
    };
    const fail = (message: string): void => {
      socket.end(`FAIL${hex4(Buffer.byteLength(message))}${message}`);
    };
    const onRequest = (request: string): void => {
      this.requests.push(request);
      if (request === 'host:version') return void socket.end(`OKAY0004${hex4(41)}`);
      if (request === 'host:devices-l') {
        const list = this.headsets.map((headset, index) => `${headset.serial.padEnd(22)} ${headset.state} usb:1-1.${index + 3}${headset.model ? ` product:eureka model:${headset.model.replace(/ /g, '_')} device:eureka` : ''} transport_id:${index + 1}\n`).join('');
        okay(list);
        return void socket.end();
      }
      // The server answers a wait only when the device leaves: the connection stays open till then.
      if (/^host-transport-id:\d+:wait-for-/.test(request)) return;
      const switched = /^host:transport-id:(\d+)$/.exec(request);
      if (switched) {
        device = this.headsets[Number(switched[1]) - 1];
        if (!device) return fail(`device '${switched[1]}' not found`);
        if (device.state !== 'device') return fail(`device ${device.state}`);
        return okay();
      }
      if (!device) return fail(`unknown host service ${request}`);
      if (request === 'host:features') {
        okay('cmd,stat_v2,ls_v2');
        return void socket.end();
      }
      const command = /^(?:exec|shell):(.*)$/.exec(request)?.[1];
      if (command === undefined) return fail(`unknown service ${request}`);
      okay();
      socket.end(device.answer?.(command) ?? `/system/bin/sh: ${command.split(' ')[0]}: not found\n`);
    };
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4) {
        const length = Number.parseInt(pending.subarray(0, 4).toString('ascii'), 16);
        if (!Number.isFinite(length) || pending.length < 4 + length) break;
        const request = pending.subarray(4, 4 + length).toString('utf8');
        pending = pending.subarray(4 + length);
        onRequest(request);
      }
    });
  }
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}
