/**
 * The agent's half of measurement signalling (protocol/measure-signal.ts): ask the cloud for a
 * session, send the offer with the grant, and take the reflector's answer and candidates.
 */
import { randomUUID } from 'node:crypto';
import { AvcareError, isAvcareError } from '../../protocol/errors.js';
import { readGrantPayload, type AgentSignal, type BulkEndpoint, type CloudSignal, type GrantPayload, type MeasureTest } from '../../protocol/measure-signal.js';
import type { IceCandidate, PeerConnection } from '../../protocol/webrtc.js';

/** Signalling as the measuring code sees it: MQTT in the agent, a pipe in the child process, a function in tests. */
export interface SignalLink {
  send(message: AgentSignal): Promise<void>;
  /** Every message addressed to this agent; returns the unsubscribe. */
  subscribe(handler: (message: CloudSignal) => void): () => void;
}

export interface Connected {
  grant: GrantPayload;
  bulk: BulkEndpoint | undefined;
  /** Stops listening and tells the reflector the session is over. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  link: SignalLink;
  peer: PeerConnection;
  test: MeasureTest;
  /** The most the video may send: classroom settings, not whatever the path allows. */
  videoKbps?: number;
  grantTimeoutMs?: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Grant, offer, answer, ICE, until the peer is connected. Every failure says which step failed:
 * no answer from the cloud, a refusal and its reason, or a path the media cannot take.
 */
export async function connectToReflector(options: ConnectOptions): Promise<Connected> {
  const { link, peer, test, videoKbps, grantTimeoutMs = 10_000, connectTimeoutMs = 15_000, signal } = options;
  const requestId = randomUUID();
  let sessionId: string | undefined;
  const early: IceCandidate[] = [];
  let answered = false;
  let settleGrant!: (result: { grant: GrantPayload; signed: Extract<CloudSignal, { type: 'measure-grant' }>['grant'] } | Error) => void;
  const grantArrived = new Promise<Parameters<typeof settleGrant>[0]>((resolve) => (settleGrant = resolve));
  let settleAnswer!: (result: Extract<CloudSignal, { type: 'answer' }> | Error) => void;
  const answerArrived = new Promise<Parameters<typeof settleAnswer>[0]>((resolve) => (settleAnswer = resolve));

  const unsubscribe = link.subscribe((message) => {
    switch (message.type) {
      case 'measure-grant': {
        if (message.requestId !== requestId) return;
        const grant = readGrantPayload(message.grant);
        settleGrant('error' in grant ? new AvcareError('MEASURE_REFUSED', `the cloud's grant could not be read: ${grant.error}`) : { grant, signed: message.grant });
        return;
      }
      case 'measure-refused':
        if (message.requestId === requestId) settleGrant(new AvcareError('MEASURE_REFUSED', `the cloud refused the test: ${message.reason}`));
        return;
      case 'answer':
        if (message.sessionId === sessionId) settleAnswer(message);
        return;
      case 'session-refused':
        if (message.sessionId === sessionId) settleAnswer(new AvcareError('MEASURE_REFUSED', `the reflector refused the session: ${message.reason}`));
        return;
      case 'candidate':
        if (message.sessionId !== sessionId) return;
        if (answered) void peer.addIceCandidate(message.candidate as IceCandidate).catch(() => undefined);
        else early.push(message.candidate as IceCandidate);
        return;
    }
  });
  const close = async (): Promise<void> => {
    unsubscribe();
    if (sessionId !== undefined) await link.send({ type: 'bye', sessionId }).catch(() => undefined);
  };

  try {
    await link.send({ type: 'measure-request', requestId, test });
    const granted = await within(grantArrived, grantTimeoutMs, signal, 'the cloud did not answer the request for a test session (is the agent connected to its broker?)');
    if (granted instanceof Error) throw granted;
    sessionId = granted.grant.sessionId;
    const id = sessionId;
    peer.onicecandidate = ({ candidate }) => {
      if (!candidate) return;
      const plain = typeof candidate.toJSON === 'function' ? candidate.toJSON() : candidate;
      void link.send({ type: 'candidate', sessionId: id, candidate: { candidate: plain.candidate, sdpMid: plain.sdpMid ?? null, sdpMLineIndex: plain.sdpMLineIndex ?? null } }).catch(() => undefined);
    };
    // NACK stays on: without repair a lossy path freezes the video far more than a class's own
    // WebRTC client would, and the test is to show what a class feels.
    const offer = await peer.createOffer();
    await peer.setLocalDescription(offer);
    // The same cap on the way back: b=AS in the offer is what this side will receive at most.
    await link.send({ type: 'offer', sessionId: id, grant: granted.signed, sdp: videoKbps === undefined ? offer.sdp : limitVideoBitrate(offer.sdp, videoKbps) });
    const answer = await within(answerArrived, grantTimeoutMs, signal, `reflector "${granted.grant.reflectorId}" did not answer the offer`);
    if (answer instanceof Error) throw answer;
    // @roamhq/wrtc's RTCRtpSender.setParameters fails (InvalidStateError, even unchanged): the cap
    // goes in as the reflector's receive limit (b=AS), which the sender honours.
    await peer.setRemoteDescription({ type: 'answer', sdp: videoKbps === undefined ? answer.sdp : limitVideoBitrate(answer.sdp, videoKbps) });
    answered = true;
    for (const candidate of early.splice(0)) await peer.addIceCandidate(candidate).catch(() => undefined);
    await within(connectedPeer(peer), connectTimeoutMs, signal, `no media path to reflector "${granted.grant.reflectorId}"`).catch((error: unknown) => {
      if (!isAvcareError(error) || error.code !== 'MEASURE_TIMEOUT') throw error;
      // Which step stalled: ICE never found a path (UDP blocked or lost), or it did and the DTLS handshake over it did not finish.
      const stage = peer.iceConnectionState === 'connected' || peer.iceConnectionState === 'completed' ? `ICE connected but the secure (DTLS) handshake did not finish` : `ICE did not connect (state ${peer.iceConnectionState}): UDP to it is blocked or lost`;
      throw new AvcareError('MEASURE_NO_PATH', `${error.message}: ${stage}`);
    });
    return { grant: granted.grant, bulk: answer.bulk, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Adds `b=AS:<kbps>` to the video section (RFC 4566 §5.8), replacing one already there. */
export function limitVideoBitrate(sdp: string, kbps: number): string {
  const lines = sdp.split('\r\n');
  const out: string[] = [];
  let inVideo = false;
  for (const line of lines) {
    if (line.startsWith('m=')) inVideo = line.startsWith('m=video');
    if (inVideo && line.startsWith('b=')) continue;
    out.push(line);
    if (inVideo && line.startsWith('c=')) out.push(`b=AS:${Math.round(kbps)}`);
  }
  return out.join('\r\n');
}

function connectedPeer(peer: PeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (peer.connectionState === 'connected') resolve();
      else if (peer.connectionState === 'failed') reject(new AvcareError('MEASURE_NO_PATH', 'ICE failed: no media path to the reflector'));
    };
    peer.onconnectionstatechange = check;
    check();
  });
}

/** The promise, or an error naming what did not happen in time (or the abort's reason). */
export function within<T>(work: Promise<T>, ms: number, signal: AbortSignal | undefined, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AvcareError('MEASURE_TIMEOUT', `${what} within ${Math.round(ms / 1000)} s`)), ms);
    const onAbort = (): void => reject(signal?.reason instanceof Error ? signal.reason : new AvcareError('MEASURE_ABORTED', 'the test was stopped'));
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}
