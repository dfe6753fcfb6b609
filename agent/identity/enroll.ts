import { hostname } from 'node:os';
import { AvcareError, AVCARE_VERSION, enrollChallengeResponseSchema, enrollProofStatement, enrollResponseSchema, isLoopbackHost, type EnrollRequest } from '../../protocol/index.js';
import { requestJson, trustedCas } from '../../protocol/http-json.js';
import { loadOrCreateAgentKey } from './agent-key.js';
import { installationId, readIdentity, writeIdentity, type AgentIdentity } from './identity-file.js';

export interface EnrollOptions {
  /** The cloud's API, e.g. https://avcare.example.edu.cn */
  cloudUrl: string;
  token: string;
  stateDir: string;
  /** The agent id this PC asks for (its host name, or the configured agentId). */
  requestedAgentId: string;
  roomId?: string;
  /** CA certificate (PEM) of the cloud, when it is not in the system's store. */
  caFile?: string;
  /** Send the token over plain http to another machine (trusted networks only). */
  insecurePlaintext?: boolean;
  now?: () => Date;
}

export interface EnrollOutcome {
  identity: AgentIdentity;
  file: string;
  /** This PC was enrolled before: the same agent, with fresh credentials. */
  reenrolled: boolean;
  /** This PC's previous agent was revoked: it joined as a new agent instead. */
  replacesRevokedAgent?: string;
}

/**
 * `avcare-agent enroll`: sends the token to the cloud over https (or http within this machine),
 * and keeps what comes back (agent id, MQTT credentials, the cloud's public key) in the state
 * directory, owner-only. Safe to run again: the installation id names the agent, and this PC's
 * key (signing a challenge the cloud just gave) proves it is that PC.
 */
export async function enrollAgent(options: EnrollOptions): Promise<EnrollOutcome> {
  let base: URL;
  try {
    base = new URL(options.cloudUrl);
  } catch {
    throw new AvcareError('INVALID_ARGUMENT', `--cloud ${options.cloudUrl} is not a URL (expected e.g. https://avcare.example.edu.cn)`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new AvcareError('INVALID_ARGUMENT', `--cloud ${options.cloudUrl} must be an https:// (or, on this machine, http://) URL`);
  if (base.protocol === 'http:' && !isLoopbackHost(base.hostname) && !options.insecurePlaintext) {
    throw new AvcareError('INSECURE_TRANSPORT', `the enrollment token would cross the network in clear to ${base.host}: use https:// (give --ca FILE if the cloud's certificate is from a private CA)`);
  }
  const ca = base.protocol === 'https:' ? trustedCas(options.caFile) : undefined;
  const key = loadOrCreateAgentKey(options.stateDir);
  const token = options.token.trim();
  const id = installationId(options.stateDir);
  const { body: challengeBody } = await requestJson<unknown>({ method: 'POST', url: new URL('/api/enroll/challenge', base), body: {}, ...(ca ? { ca } : {}) });
  const challenge = enrollChallengeResponseSchema.safeParse(challengeBody);
  if (!challenge.success) throw new AvcareError('CLOUD_REQUEST_FAILED', `${base.origin} gave no enrollment challenge this agent understands (is it an avcare cloud of this version?)`);
  const request: EnrollRequest = {
    token,
    installationId: id,
    requestedAgentId: options.requestedAgentId,
    hostname: hostname(),
    agentVersion: AVCARE_VERSION,
    publicKey: key.publicKeyPem,
    proof: { challenge: challenge.data.challenge, signature: key.sign(enrollProofStatement(challenge.data.challenge, id, token)) },
    ...currentSecretFor(options.stateDir, base.origin),
    ...(options.roomId === undefined ? {} : { roomId: options.roomId }),
  };
  const { body } = await requestJson<unknown>({ method: 'POST', url: new URL('/api/enroll', base), body: request, ...(ca ? { ca } : {}) });
  const parsed = enrollResponseSchema.safeParse(body);
  if (!parsed.success) throw new AvcareError('CLOUD_REQUEST_FAILED', `${base.origin} answered the enrollment with something this agent does not understand (is it an avcare cloud of this version?)`);
  const answer = parsed.data;
  const identity: AgentIdentity = {
    version: 1,
    cloudUrl: base.origin,
    ...(options.caFile === undefined ? {} : { caFile: options.caFile }),
    ...(options.insecurePlaintext ? { insecurePlaintext: true as const } : {}),
    schoolId: answer.schoolId,
    agentId: answer.agentId,
    roomId: answer.roomId,
    installationId: request.installationId,
    mqtt: answer.mqtt,
    signingKey: answer.signingKey,
    enrolledAt: answer.enrolledAt,
    credentialIssuedAt: (options.now?.() ?? new Date()).toISOString(),
  };
  const file = writeIdentity(options.stateDir, identity);
  return { identity, file, reenrolled: answer.reenrolled, ...(answer.replacesRevokedAgent === undefined ? {} : { replacesRevokedAgent: answer.replacesRevokedAgent }) };
}

/**
 * The MQTT secret this PC holds for that same cloud: how a PC enrolled before it had a key proves
 * it is itself (the cloud then keeps its key). Never sent to another cloud; a damaged identity
 * file simply proves nothing.
 */
function currentSecretFor(stateDir: string, origin: string): { currentSecret?: string } {
  try {
    const identity = readIdentity(stateDir);
    return identity && identity.cloudUrl === origin ? { currentSecret: identity.mqtt.password } : {};
  } catch {
    return {};
  }
}
