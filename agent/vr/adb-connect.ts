/// <reference types="w3c-web-usb" />
/**
 * Reaching a headset's adbd through @yume-chan/adb: over the network (adb tcpip), through the adb
 * server a PC may already run (the only way to a USB headset the server has claimed), or directly
 * over USB with libusb's WebUSB. The protocol, its authentication and its RSA signing are the
 * library's; this file only chooses the way and turns each outcome into a state a person can act on.
 */
import { Adb, AdbDaemonTransport, AdbPacket, AdbPacketSerializeStream, AdbServerClient, type AdbCredentialStore, type AdbDaemonConnection } from '@yume-chan/adb';
import { AdbServerNodeTcpConnector } from '@yume-chan/adb-server-node-tcp';
import { pipeFrom, StructDeserializeStream } from '@yume-chan/stream-extra';

/** Where a headset was reached, and what came of it. `adb` is set only when it accepted this PC's key. */
export interface HeadsetLink {
  serial: string;
  via: 'network' | 'adb-server' | 'usb';
  state: 'connected' | 'unauthorized' | 'unreachable';
  /** A configured headset's name ("cart A #3"). */
  name?: string;
  /** Network headsets: host:port. */
  address?: string;
  /** What adb said the model was, before anything could be asked (the server's list). */
  model?: string;
  /** Why it is unreachable, for a person to read. */
  problem?: string;
  adb?: Adb;
  /** Ends the link: the library's transport, and the socket under it, which closing the transport leaves open. */
  close?: () => Promise<void>;
}

/** Waits for the headset to accept this PC's key; a headset whose "Allow" was not tapped never answers. */
async function authenticated(serial: string, connection: AdbDaemonConnection, close: () => Promise<void>, credentialStore: AdbCredentialStore, waitMs: number, signal: AbortSignal): Promise<Adb | 'unauthorized'> {
  const transport = AdbDaemonTransport.authenticate({ serial, connection, credentialStore });
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'unauthorized'>((resolve) => {
    timer = setTimeout(() => resolve('unauthorized'), waitMs);
    signal.addEventListener('abort', () => resolve('unauthorized'), { once: true });
  });
  try {
    const outcome = await Promise.race([transport, waited]);
    if (outcome === 'unauthorized') {
      // The headset keeps the connection open while it shows its dialog; the library waits on it
      // with the streams locked, so the socket itself is closed, which ends the wait too.
      void transport.then((late) => late.close()).catch(() => undefined);
      await close().catch(() => undefined);
      return 'unauthorized';
    }
    return new Adb(outcome);
  } finally {
    clearTimeout(timer);
  }
}

export interface NetworkHeadsetTarget {
  host: string;
  port: number;
  name?: string | undefined;
}

/** A headset on Wi-Fi: its adbd over TCP, the library's packet streams over a Node socket. */
export async function connectNetworkHeadset(target: NetworkHeadsetTarget, keys: AdbCredentialStore, waitMs: number, signal: AbortSignal): Promise<HeadsetLink> {
  const address = `${target.host}:${target.port}`;
  const base = { serial: address, via: 'network' as const, address, ...(target.name ? { name: target.name } : {}) };
  let bytes: AdbServerClient.ServerConnection;
  try {
    bytes = await new AdbServerNodeTcpConnector({ host: target.host, port: target.port }).connect({ signal });
  } catch (error) {
    return { ...base, state: 'unreachable', problem: `no answer from ${address}: ${(error as Error).message}` };
  }
  const connection: AdbDaemonConnection = {
    readable: bytes.readable.pipeThrough(new StructDeserializeStream(AdbPacket)),
    writable: pipeFrom(bytes.writable, new AdbPacketSerializeStream()),
  };
  try {
    const adb = await authenticated(address, connection, async () => bytes.close(), keys, waitMs, signal);
    if (adb === 'unauthorized') return { ...base, state: 'unauthorized' };
    const close = async (): Promise<void> => {
      await adb.close().catch(() => undefined);
      await bytes.close();
    };
    return { ...base, state: 'connected', adb, close };
  } catch (error) {
    await bytes.close();
    return { ...base, state: 'unreachable', problem: `${address} is not an ADB device or hung up: ${(error as Error).message}` };
  }
}

/**
 * The headsets an adb server on this PC knows (a vendor tool or a teacher's `adb` started it). When
 * one runs it holds the USB interfaces, so it is the way to them; null when no server answers.
 */
export async function serverHeadsets(port: number, signal: AbortSignal): Promise<HeadsetLink[] | null> {
  const client = new AdbServerClient(new AdbServerNodeTcpConnector({ host: '127.0.0.1', port }));
  let devices: AdbServerClient.Device[];
  try {
    devices = await client.getDevices(['device', 'unauthorized', 'offline']);
  } catch {
    // Nothing listens there, or something that is not an adb server: reach USB headsets directly.
    return null;
  }
  const links: HeadsetLink[] = [];
  for (const device of devices) {
    signal.throwIfAborted();
    const base = { serial: device.serial, via: 'adb-server' as const, ...(device.model ? { model: device.model.replace(/_/g, ' ') } : {}) };
    if (device.state === 'unauthorized') links.push({ ...base, state: 'unauthorized' });
    else if (device.state === 'offline') links.push({ ...base, state: 'unreachable', problem: 'the adb server lists it offline' });
    else {
      try {
        links.push({ ...base, state: 'connected', adb: await client.createAdb({ transportId: device.transportId }) });
      } catch (error) {
        links.push({ ...base, state: 'unreachable', problem: (error as Error).message });
      }
    }
  }
  return links;
}

/** USB headsets reached directly through libusb's WebUSB, when no adb server holds them. */
export async function usbHeadsets(keys: AdbCredentialStore, waitMs: number, signal: AbortSignal): Promise<HeadsetLink[]> {
  const [{ WebUSB }, { AdbDaemonWebUsbDeviceManager }] = await Promise.all([import('usb'), import('@yume-chan/adb-daemon-webusb')]);
  const manager = new AdbDaemonWebUsbDeviceManager(new WebUSB({ allowAllDevices: true }));
  const links: HeadsetLink[] = [];
  for (const device of await manager.getDevices()) {
    signal.throwIfAborted();
    const base = { serial: device.serial, via: 'usb' as const };
    try {
      const connection = await device.connect();
      const close = async (): Promise<void> => void (await device.raw.close());
      const adb = await authenticated(device.serial, connection, close, keys, waitMs, signal);
      links.push(adb === 'unauthorized' ? { ...base, state: 'unauthorized' } : { ...base, state: 'connected', adb });
    } catch (error) {
      // Claimed by another program (an adb server started after our check, a vendor tool), or no permission.
      links.push({ ...base, state: 'unreachable', problem: (error as Error).message });
    }
  }
  return links;
}
