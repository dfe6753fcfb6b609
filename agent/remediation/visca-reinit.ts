import { silentLogger, type Logger } from '../../protocol/log.js';
import { openSerialLink, type SerialLink } from '../probes/serial-link.js';
import { DEFAULT_INQUIRY_TIMEOUT_MS, ViscaClient } from '../probes/visca-client.js';
import { addressSet, camerasOnChain, ifClear, type ViscaReply } from '../probes/visca.js';

type Answer<T> = ({ answered: true } & T) | { answered: false; reason: string };

/** What the chain answered to the two broadcasts of a re-init. */
export interface ViscaReinitOutcome {
  ifClear: Answer<Record<never, never>>;
  addressSet: Answer<{ cameras: number }>;
}

export interface ViscaReinitOptions {
  /** Wait for each broadcast's reply; it has to pass every camera on the chain. */
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * Re-initialises a VISCA line: IF_Clear empties every camera's command buffers (a camera stuck
 * on a half-received command answers nothing) and Address Set numbers the chain again from 1 (a
 * camera that lost its address in a power glitch ignores what is sent to it). Both broadcasts
 * reach every camera on the port and cancel what they are doing, which is why the probe never
 * sends them and only a fault about to be raised, at most once per cooldown, does.
 */
export async function reinitViscaChain(link: SerialLink, options: ViscaReinitOptions = {}): Promise<ViscaReinitOutcome> {
  const { timeoutMs = DEFAULT_INQUIRY_TIMEOUT_MS, signal, log } = options;
  const client = new ViscaClient(link, log === undefined ? {} : { log });
  const inquiry = signal === undefined ? { timeoutMs } : { timeoutMs, signal };
  try {
    // One after the other: the replies carry no id, so the client waits for each before the next.
    const cleared = await replyOrReason(client.inquire(ifClear(), inquiry));
    const numbered = await replyOrReason(client.inquire(addressSet(), inquiry));
    return { ifClear: answerOf(cleared, 'if-clear', () => ({})), addressSet: answerOf(numbered, 'address-set', (reply) => ({ cameras: camerasOnChain(reply) })) };
  } finally {
    client.detach();
  }
}

function answerOf<K extends ViscaReply['type'], T>(reply: ViscaReply | string, expected: K, read: (reply: Extract<ViscaReply, { type: K }>) => T): Answer<T> {
  if (typeof reply === 'string') return { answered: false, reason: reply };
  if (!isType(reply, expected)) return { answered: false, reason: `answered with an unexpected ${reply.type} reply` };
  return { answered: true, ...read(reply) };
}

function isType<K extends ViscaReply['type']>(reply: ViscaReply, type: K): reply is Extract<ViscaReply, { type: K }> {
  return reply.type === type;
}

async function replyOrReason(inquiry: Promise<ViscaReply>): Promise<ViscaReply | string> {
  try {
    return await inquiry;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** For the fault's evidence: what the chain did, and a chain too short for the configured address. */
export function describeReinit(outcome: ViscaReinitOutcome, configuredAddresses: readonly number[]): string {
  const { ifClear: cleared, addressSet: numbered } = outcome;
  const chain = numbered.answered ? `${numbered.cameras} camera${numbered.cameras === 1 ? '' : 's'} on the chain${shortChain(numbered.cameras, configuredAddresses)}` : '';
  if (cleared.answered && numbered.answered) return `the camera chain answered IF_Clear and Address Set (${chain})`;
  if (cleared.answered && !numbered.answered) return `the camera chain answered IF_Clear but not Address Set (${numbered.reason})`;
  if (!cleared.answered && numbered.answered) return `no answer to IF_Clear (${cleared.reason}), but the camera chain answered Address Set (${chain})`;
  const reasons = [cleared, numbered].map((answer) => (answer.answered ? '' : answer.reason));
  return reasons[0] === reasons[1] ? `no answer to IF_Clear or Address Set (${reasons[0]})` : `no answer to IF_Clear (${reasons[0]}) or Address Set (${reasons[1]})`;
}

function shortChain(cameras: number, configuredAddresses: readonly number[]): string {
  const highest = Math.max(...configuredAddresses);
  return cameras < highest ? `, fewer than the configured address ${highest}` : '';
}

export interface ViscaPortReinit {
  path: string;
  baudRate: number;
  /** Addresses configured on this port, to notice a chain shorter than the configuration. */
  addresses: readonly number[];
}

/** Opens the port, re-initialises the chain and closes it again; the result is a sentence, never an exception. */
export async function reinitViscaPort(port: ViscaPortReinit, options: ViscaReinitOptions & { open?: typeof openSerialLink } = {}): Promise<string> {
  const { open = openSerialLink, log = silentLogger } = options;
  let link: SerialLink;
  try {
    link = await open(port.path, port.baudRate, options.signal);
  } catch (error) {
    return `could not open ${port.path} to re-initialise the camera: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    return describeReinit(await reinitViscaChain(link, options), port.addresses);
  } finally {
    try {
      await link.close();
    } catch (error) {
      log.warn({ path: port.path, err: error }, 'closing the serial port after the VISCA re-init failed');
    }
  }
}
