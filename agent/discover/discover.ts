/**
 * `avcare-agent discover`: finds the projectors and PTZ cameras of the room's network, so the IT
 * teacher does not have to know their addresses. Two searches, both broadcasts to the PC's own
 * IPv4 networks and nowhere else: PJLink class 2 (`%2SRCH`) and Sony's VISCA-over-IP camera
 * setting inquiry (`ENQ:network`). Projectors that answer are then asked who they are over
 * PJLink, without a password: a projector that wants one is reported so, never tried.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAvcareError, untrustedText } from '../../protocol/index.js';
import { silentLogger, type Logger } from '../../protocol/log.js';
import { queryPjlink } from '../probes/pjlink-client.js';
import { contains, type LocalNetwork } from './local-networks.js';
import { PJLINK_SEARCH, PJLINK_SEARCH_PORT, SONY_NETWORK_INQUIRY, SONY_SETUP_PORT, parsePjlinkAckn, parseSonyNetworkReply } from './search-messages.js';

export interface DiscoveredProjector {
  address: string;
  mac: string;
  interface: string;
  /** What the projector said about itself over PJLink, when it would say it without a password. */
  name?: string;
  manufacturer?: string;
  product?: string;
  pjlinkClass?: '1' | '2';
  /** open: it answered PJLink without a password; password: it wants one (never tried); unreachable: see accessDetail. */
  access: 'open' | 'password' | 'unreachable' | 'not-asked';
  accessDetail?: string;
  /** The entry for the agent's configuration (`pjlink`). */
  config: { host: string; name?: string };
}

export interface DiscoveredCamera {
  address: string;
  interface: string;
  mac?: string;
  model?: string;
  name?: string;
  softwareVersion?: string;
  /** The address the camera says it has, when it differs from the one it answered from. */
  reportedAddress?: string;
  /** The entry for the agent's configuration (`viscaIp`): these cameras speak Sony's framing. */
  config: { host: string; framing: 'sony-ip'; name?: string };
}

export interface Discovery {
  networks: LocalNetwork[];
  projectors: DiscoveredProjector[];
  cameras: DiscoveredCamera[];
  /** Answers that were not used: from outside the searched networks, or not understood. */
  ignored: { address: string; port: number; reason: string }[];
  /** Where each search went: only the broadcast addresses of the searched networks. */
  sent: { address: string; port: number }[];
  /** A search port another program holds: answers sent to it could not be heard. */
  notes: string[];
  durationMs: number;
}

export interface DiscoverOptions {
  networks: readonly LocalNetwork[];
  /** How long to listen for answers; the search is sent again a third of the way in, for lost datagrams. */
  timeoutMs?: number;
  query?: typeof queryPjlink;
  log?: Logger;
}

const DEFAULT_TIMEOUT_MS = 3000;
const PROJECTOR_QUERY_MS = 2500;
const MAX_ANSWERS = 256;

export async function discover(options: DiscoverOptions): Promise<Discovery> {
  const started = Date.now();
  const { networks, timeoutMs = DEFAULT_TIMEOUT_MS, query = queryPjlink, log = silentLogger } = options;
  const found: Discovery = { networks: [...networks], projectors: [], cameras: [], ignored: [], sent: [], notes: [], durationMs: 0 };
  if (networks.length === 0) return { ...found, durationMs: Date.now() - started };

  const ownAddresses = new Set(networks.map((network) => network.address));
  const answers: { datagram: Buffer; from: RemoteInfo; port: number }[] = [];
  const listen = (port: number) => (datagram: Buffer, from: RemoteInfo) => {
    // Our own broadcast comes back to us; a flood of answers must not grow memory.
    if (ownAddresses.has(from.address) || answers.length >= MAX_ANSWERS) return;
    answers.push({ datagram, from, port });
  };
  const sockets = await Promise.all([openSearchSocket(PJLINK_SEARCH_PORT, listen(PJLINK_SEARCH_PORT), found.notes), openSearchSocket(SONY_SETUP_PORT, listen(SONY_SETUP_PORT), found.notes)]);
  try {
    const search = (): Promise<void[]> =>
      Promise.all(
        networks.flatMap((network) => [
          send(sockets[0], PJLINK_SEARCH, PJLINK_SEARCH_PORT, network.broadcast, log, found.sent),
          send(sockets[1], SONY_NETWORK_INQUIRY, SONY_SETUP_PORT, network.broadcast, log, found.sent),
        ]),
      );
    await search();
    await sleep(Math.floor(timeoutMs / 3));
    await search();
    await sleep(timeoutMs - Math.floor(timeoutMs / 3));
  } finally {
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  for (const { datagram, from, port } of answers) readAnswer(found, networks, datagram, from, port);
  found.projectors = await Promise.all(found.projectors.map((projector) => askProjector(projector, query, log)));
  found.durationMs = Date.now() - started;
  return found;
}

async function openSearchSocket(port: number, onMessage: (datagram: Buffer, from: RemoteInfo) => void, notes: string[]): Promise<Socket> {
  // Devices answer to the search port itself, so we listen there; another controller may share it.
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  socket.on('message', onMessage);
  socket.on('error', () => undefined);
  try {
    await bind(socket, port);
  } catch (error) {
    notes.push(`UDP port ${port} is held by another program (${error instanceof Error ? error.message : String(error)}): answers sent there were not heard`);
    await bind(socket, 0);
  }
  socket.setBroadcast(true);
  return socket;
}

function bind(socket: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.bind(port, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function send(socket: Socket, message: Buffer, port: number, address: string, log: Logger, sent: Discovery['sent']): Promise<void> {
  if (!sent.some((entry) => entry.address === address && entry.port === port)) sent.push({ address, port });
  return new Promise((resolve) => {
    socket.send(message, port, address, (error) => {
      // A network that went down mid-search is not a reason to give up on the others.
      if (error) log.warn({ err: error, address, port }, 'search broadcast not sent');
      resolve();
    });
  });
}

function readAnswer(found: Discovery, networks: readonly LocalNetwork[], datagram: Buffer, from: RemoteInfo, port: number): void {
  const network = networks.find((candidate) => contains(candidate, from.address));
  if (network === undefined) {
    found.ignored.push({ address: from.address, port, reason: 'outside the searched networks' });
    return;
  }
  if (port === PJLINK_SEARCH_PORT) {
    const mac = parsePjlinkAckn(datagram);
    if (mac === undefined) return ignore(found, from, port, datagram);
    if (found.projectors.some((projector) => projector.address === from.address)) return;
    found.projectors.push({ address: from.address, mac, interface: network.interface, access: 'not-asked', config: { host: from.address } });
    return;
  }
  const fields = parseSonyNetworkReply(datagram);
  if (fields === undefined) return ignore(found, from, port, datagram);
  if (found.cameras.some((camera) => camera.address === from.address)) return;
  found.cameras.push(cameraFrom(from.address, network.interface, fields));
}

function ignore(found: Discovery, from: RemoteInfo, port: number, datagram: Buffer): void {
  found.ignored.push({ address: from.address, port, reason: `not an answer to the search: ${clean(datagram.subarray(0, 48).toString('latin1')) || `${datagram.length} bytes`}` });
}

function cameraFrom(address: string, iface: string, fields: Record<string, string>): DiscoveredCamera {
  const camera: DiscoveredCamera = { address, interface: iface, config: { host: address, framing: 'sony-ip' } };
  const text = (key: string): string | undefined => {
    const value = fields[key];
    return value === undefined ? undefined : clean(value) || undefined;
  };
  const [mac, model, name, softwareVersion, reported] = [text('MAC'), text('MODEL'), text('NAME'), text('SOFTVERSION'), text('IPADR')];
  if (mac !== undefined) camera.mac = mac.toLowerCase();
  if (model !== undefined) camera.model = model;
  if (softwareVersion !== undefined) camera.softwareVersion = softwareVersion;
  if (name !== undefined) {
    camera.name = name;
    camera.config.name = name;
  }
  if (reported !== undefined && reported !== address) camera.reportedAddress = reported;
  return camera;
}

async function askProjector(projector: DiscoveredProjector, query: typeof queryPjlink, log: Logger): Promise<DiscoveredProjector> {
  try {
    const info = await query({ host: projector.address, port: PJLINK_SEARCH_PORT }, { connectTimeoutMs: PROJECTOR_QUERY_MS, replyTimeoutMs: PROJECTOR_QUERY_MS, deadline: Date.now() + PROJECTOR_QUERY_MS, log });
    const asked: DiscoveredProjector = { ...projector, pjlinkClass: info.pjlinkClass, access: 'open' };
    if (info.name !== undefined) {
      asked.name = info.name;
      asked.config = { ...asked.config, name: info.name };
    }
    if (info.manufacturer !== undefined) asked.manufacturer = info.manufacturer;
    if (info.product !== undefined) asked.product = info.product;
    return asked;
  } catch (error) {
    if (isAvcareError(error) && error.code === 'PJLINK_AUTH_FAILED') return { ...projector, access: 'password' };
    return { ...projector, access: 'unreachable', accessDetail: clean(error instanceof Error ? error.message : String(error)) };
  }
}

/** Everything here came from a device on the network: untrusted, shown and stored only cleaned. */
function clean(text: string): string {
  return untrustedText(text, 256) ?? '';
}
