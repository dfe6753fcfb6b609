/**
 * A headset's adbd over TCP, as far as the probe uses it: the CNXN/AUTH handshake (token,
 * signature checked against the keys it has accepted, public key offered), and `exec:` services
 * answered from recorded outputs. The device side of the protocol is written here because no
 * library plays a device; the host side under test is @yume-chan/adb's.
 */
import { createPublicKey, publicDecrypt, randomBytes, constants, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { LoopbackPeer } from './loopback-peer.js';

/** A Quest 3 on a school's cart, as a support engineer captured it (provenance in test/fixtures/vr/README.md). */
export const QUEST3_CAPTURE = join(import.meta.dirname, '../fixtures/vr/quest3-cart-a3.capture.txt');

/**
 * A capture's answers, looked up by the command's first words (the probe runs `df /data` where the
 * engineer ran `df -h /data`); `date` answers `now` by the headset's clock; `serial` renames it.
 */
export function recordedHeadset(file: string, now: string, serial?: string): (command: string) => string | undefined {
  const answers = new Map<string, string>();
  let current: string | null = null;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const command = /^\$ adb shell (.*)$/.exec(line)?.[1];
    if (command !== undefined) {
      current = commandKey(command);
      answers.set(current, '');
    } else if (current !== null && !line.startsWith('$ adb')) answers.set(current, `${answers.get(current) ?? ''}${line}\n`);
  }
  if (serial) answers.set('getprop', (answers.get('getprop') ?? '').replace(/\[ro\.serialno\]: \[\w+\]/, `[ro.serialno]: [${serial}]`));
  return (command) => {
    if (command.startsWith('date')) return `${now}\n`;
    // `getprop KEY` prints the value alone.
    const key = /^getprop (\S+)$/.exec(command)?.[1];
    if (key) return `${new RegExp(`^\\[${key.replace(/\./g, '\\.')}\\]: \\[(.*)\\]$`, 'm').exec(answers.get('getprop') ?? '')?.[1] ?? ''}\n`;
    return answers.get(commandKey(command));
  };
}

function commandKey(command: string): string {
  const words = command.split(' ');
  return words[0] === 'df' || words[0] === 'getprop' || words[0] === 'pidof' ? (words[0] ?? '') : words.slice(0, 2).join(' ');
}

const CNXN = 0x4e584e43;
const AUTH = 0x48545541;
const OPEN = 0x4e45504f;
const OKAY = 0x59414b4f;
const WRTE = 0x45545257;
const CLSE = 0x45534c43;
const AUTH_TOKEN = 1;
const AUTH_SIGNATURE = 2;
const AUTH_RSAPUBLICKEY = 3;
const VERSION_NO_CHECKSUM = 0x01000001;

export interface SimulatedHeadsetOptions {
  /** What `adb shell COMMAND` prints; undefined answers "/system/bin/sh: COMMAND: not found". */
  answer: (command: string) => string | undefined;
  /** 'ask': shows the "Allow USB debugging?" dialog and nobody taps it; 'allow': somebody taps Allow. */
  onNewKey: 'ask' | 'allow';
  /** The connection drops (cable pulled, headset asleep) when this command is opened. */
  dropAt?: (command: string) => boolean;
  banner?: string;
}

export class SimulatedHeadset extends LoopbackPeer {
  /** Public keys it has accepted ("always allow from this computer"). */
  readonly accepted: KeyObject[] = [];
  /** Keys offered and left waiting in the dialog. */
  readonly asked: string[] = [];
  readonly commands: string[] = [];

  constructor(private readonly options: SimulatedHeadsetOptions) {
    super();
  }

  protected serve(socket: Socket): void {
    socket.on('end', () => socket.destroy());
    let pending = Buffer.alloc(0);
    let token = randomBytes(20);
    let nextLocalId = 1;
    const send = (command: number, arg0: number, arg1: number, payload: Buffer = Buffer.alloc(0)): void => {
      const header = Buffer.alloc(24);
      header.writeUInt32LE(command, 0);
      header.writeUInt32LE(arg0, 4);
      header.writeUInt32LE(arg1, 8);
      header.writeUInt32LE(payload.length, 12);
      header.writeUInt32LE(0, 16);
      header.writeUInt32LE((command ^ 0xffffffff) >>> 0, 20);
      if (!socket.destroyed) socket.write(Buffer.concat([header, payload]));
    };
    const connected = (): void => send(CNXN, VERSION_NO_CHECKSUM, 256 * 1024, Buffer.from(this.options.banner ?? 'device::ro.product.name=eureka;ro.product.model=Quest 3;ro.product.device=eureka;features=cmd,stat_v2,ls_v2'));
    const onPacket = (command: number, arg0: number, arg1: number, payload: Buffer): void => {
      if (command === CNXN) {
        token = randomBytes(20);
        send(AUTH, AUTH_TOKEN, 0, token);
      } else if (command === AUTH && arg0 === AUTH_SIGNATURE) {
        if (this.accepted.some((key) => signs(key, payload, token))) connected();
        else {
          token = randomBytes(20);
          send(AUTH, AUTH_TOKEN, 0, token);
        }
      } else if (command === AUTH && arg0 === AUTH_RSAPUBLICKEY) {
        const offered = payload.toString('utf8').replace(/\0$/, '');
        if (this.options.onNewKey === 'allow') {
          this.accepted.push(adbPublicKey(offered.split(' ')[0] ?? ''));
          connected();
        } else this.asked.push(offered);
      } else if (command === OPEN) {
        const service = payload.toString('utf8').replace(/\0$/, '');
        const shellCommand = service.replace(/^(exec|shell):/, '');
        this.commands.push(shellCommand);
        if (this.options.dropAt?.(shellCommand)) {
          socket.destroy();
          return;
        }
        const localId = nextLocalId;
        nextLocalId += 1;
        send(OKAY, localId, arg0);
        const output = this.options.answer(shellCommand) ?? `/system/bin/sh: ${shellCommand.split(' ')[0]}: not found\n`;
        const bytes = Buffer.from(output);
        // The host acknowledges each WRTE; without delayed ack it accepts one at a time, so chunks go out after each OKAY.
        const chunks: Buffer[] = [];
        for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
        streams.set(localId, { remoteId: arg0, chunks });
        sendNext(localId);
      } else if (command === OKAY) {
        sendNext(arg1);
      } else if (command === CLSE) {
        const stream = streams.get(arg1);
        if (stream) {
          streams.delete(arg1);
          send(CLSE, arg1, stream.remoteId);
        }
      }
    };
    const streams = new Map<number, { remoteId: number; chunks: Buffer[] }>();
    const sendNext = (localId: number): void => {
      const stream = streams.get(localId);
      if (!stream) return;
      const chunk = stream.chunks.shift();
      if (chunk) send(WRTE, localId, stream.remoteId, chunk);
      else {
        streams.delete(localId);
        send(CLSE, localId, stream.remoteId);
      }
    };
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 24) {
        const length = pending.readUInt32LE(12);
        if (pending.length < 24 + length) break;
        onPacket(pending.readUInt32LE(0), pending.readUInt32LE(4), pending.readUInt32LE(8), pending.subarray(24, 24 + length));
        pending = pending.subarray(24 + length);
      }
    });
  }
}

/** adb signs the token as a SHA-1 digest (PKCS #1 v1.5): the signature opens to DigestInfo ending in the token. */
function signs(key: KeyObject, signature: Buffer, token: Buffer): boolean {
  try {
    return publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature).subarray(-20).equals(token);
  } catch {
    return false;
  }
}

/** adb's public key format: base64 of {len words, n0inv, modulus LE, rr LE, exponent}. */
function adbPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64');
  const words = raw.readUInt32LE(0);
  const modulusLe = raw.subarray(8, 8 + words * 4);
  const exponent = raw.readUInt32LE(8 + words * 8);
  const toBase64Url = (bytes: Buffer): string => bytes.toString('base64url');
  const exponentBytes = Buffer.alloc(4);
  exponentBytes.writeUInt32BE(exponent);
  return createPublicKey({ key: { kty: 'RSA', n: toBase64Url(Buffer.from(modulusLe).reverse()), e: toBase64Url(exponentBytes.subarray(exponentBytes.findIndex((byte) => byte !== 0))) }, format: 'jwk' });
}
