import { AvcareError, agentMqttClientId, agentMqttUsername, enrollProofStatement, isAvcareError, untrustedText, type EnrollRequest, type EnrollResponse } from '../../protocol/index.js';
import { LoginLimiter } from '../accounts/login-limiter.js';
import type { AuditFloodGuard } from '../audit/audit-flood-guard.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Dialect, SqlRunner } from '../store/dialect.js';
import { agentKey } from '../store/store.js';
import { brokerAccountOf, CREDENTIAL_COLUMNS, type AgentRegistry, type CredentialRow } from './agent-registry.js';
import { refusal, tokenState, type EnrollTokenRow, type EnrollTokens } from './enroll-tokens.js';
import { EnrollChallenges } from './enroll-challenges.js';
import { hashSecret, newSecret, sameHash } from './secret-token.js';
import { verifySignature, type CloudSigningKey } from './signing-key.js';

/**
 * Failed enrollments from one address are limited (each writes an audit entry, and nobody
 * legitimate fails 30 times in 15 minutes): past the limit they are refused before the database.
 */
const ENROLL_FAILURE_LIMITS = { windowMs: 15 * 60_000, perAccountAddress: 30, perAddress: 30, perAccountSoft: Number.POSITIVE_INFINITY };

export interface EnrollmentOptions {
  db: Dialect;
  audit: AuditLog;
  /** Refused enrollments are recorded through it: per address, a flood becomes one entry a minute. */
  auditGuard: AuditFloodGuard;
  tokens: EnrollTokens;
  registry: AgentRegistry;
  signingKey: CloudSigningKey;
  /** The broker URL an agent is told to connect to, given the host name it reached the API at (mqtts:// when the cloud has a certificate). */
  mqttUrl: (apiHost: string) => string;
  now?: () => Date;
}

/** How many suffixes are tried for a taken agent id before giving up (a school has far fewer PCs per host name). */
const MAX_ID_SUFFIX = 999;

/**
 * A PC joins a school: the token is checked and one of its uses taken, an agent id is chosen
 * (the PC's own, with a suffix if another PC of the school has it), a random 256-bit MQTT secret
 * is made (only its hash is kept) and granted at the broker, all in one transaction with its
 * audit entry, and the PC's own public key is kept.
 *
 * The same installation enrolling again gets its agent back with a fresh secret only when it
 * proves it is that PC: a signature with the key it registered (over a fresh challenge, its
 * installation id and the token), or, for a PC enrolled before keys, its current MQTT secret. The
 * installation id alone is no proof (it is in the audit log). With the same token (a re-run, or an
 * answer lost on the way) it takes no further use of it. A revoked agent comes back as itself only
 * when an admin readmitted it; otherwise its PC enrolls as a new agent (with a new token's use).
 */
export class Enrollment {
  private readonly now: () => Date;
  private readonly failures = new LoginLimiter(ENROLL_FAILURE_LIMITS);
  private readonly challenges: EnrollChallenges;

  constructor(private readonly options: EnrollmentOptions) {
    this.now = options.now ?? (() => new Date());
    this.challenges = new EnrollChallenges(options.signingKey, () => this.now().getTime());
  }

  /** A challenge for the PC to sign with its key (POST /api/enroll/challenge). */
  challenge(): { challenge: string; expiresAt: string } {
    return this.challenges.issue();
  }

  /** `apiHost`: the host name the PC used to reach the API, so it gets a broker URL it can reach too. */
  /** The broker URL a client that reached the API at `apiHost` is told to use (agents, reflectors). */
  brokerUrl(apiHost: string): string {
    return this.options.mqttUrl(apiHost);
  }

  async enroll(request: EnrollRequest, source: string, apiHost: string): Promise<EnrollResponse> {
    const { db } = this.options;
    // Reserved before the database, so a burst of simultaneous attempts stops at the limit too.
    const allowed = this.failures.reserve(source, source);
    if (!allowed.allowed) {
      throw new AvcareError('ENROLL_THROTTLED', `too many failed enrollments from this address; try again in ${allowed.retryAfterSeconds} s`, { retryAfterSeconds: allowed.retryAfterSeconds });
    }
    try {
      for (let attempt = 1; ; attempt += 1) {
        try {
          const enrolled = await db.transaction((tx) => this.enrollIn(tx, request, source, apiHost));
          this.failures.succeeded(allowed.reservation);
          return enrolled;
        } catch (error) {
          // Two PCs with one host name enrolling at the same moment with different tokens both saw the
          // id free; the loser's insert hits the unique key and, tried again, picks the next free id.
          if (!isUniqueViolation(error) || attempt === 3) throw error;
        }
      }
    } catch (error) {
      // The refusal is recorded after the rollback, in its own transaction: a failed attempt leaves a trace too.
      const reason = isAvcareError(error) ? error.code : 'INTERNAL_ERROR';
      const schoolId = isAvcareError(error) && typeof error.context.schoolId === 'string' ? error.context.schoolId : null;
      await this.options.auditGuard.append(`agent.enroll:${source}`, {
        actor: `installation:${request.installationId}`,
        action: 'agent.enroll',
        target: isAvcareError(error) && typeof error.context.tokenId === 'string' ? `enroll-token:${error.context.tokenId}` : null,
        outcome: 'failure',
        source,
        schoolId,
        detail: { reason, requestedAgentId: request.requestedAgentId, hostname: untrustedText(request.hostname ?? '', 253) ?? null },
      });
      throw error;
    }
  }

  private async enrollIn(tx: SqlRunner, request: EnrollRequest, source: string, apiHost: string): Promise<EnrollResponse> {
    const { tokens, registry, audit } = this.options;
    const now = this.now().getTime();
    const token = await tokens.findIn(tx, request.token);
    if (!token) throw new AvcareError('ENROLL_TOKEN_UNKNOWN', 'this enrollment token is not one this cloud made (or it was mistyped)');
    const state = tokenState(token, now);
    if (state === 'revoked' || state === 'expired') throw withSchool(refusal(state, token), token);

    // This PC (its installation id) may have joined the school before: it keeps its agent id and
    // history if it proves it is that PC, and if that agent is not revoked (or an admin readmitted it).
    const existing = await this.installationIn(tx, token.school_id, request.installationId);
    const wasRevoked = existing !== undefined && existing.revoked_at !== null;
    const readmitted = wasRevoked && existing.readmit_at !== null;
    const comesBack = existing !== undefined && (!wasRevoked || readmitted) ? existing : undefined;
    const proof = comesBack ? this.proveSamePc(comesBack, request, token) : this.checkNewKey(request, token);
    // The same PC with the same token again (a re-run, or an answer lost on the way): idempotent,
    // no further use taken, even when its own enrollment took the token's last use.
    const reenrolled = comesBack !== undefined && !wasRevoked && comesBack.enroll_token_id === token.id;
    if (!reenrolled && (state === 'used-up' || !(await tokens.takeUseIn(tx, token)))) throw withSchool(refusal('used-up', token), token);

    const agentId = comesBack ? comesBack.agent_id : await this.freeAgentIdIn(tx, token.school_id, request.requestedAgentId);
    const roomId = request.roomId ?? comesBack?.room_id ?? token.room_id ?? request.requestedAgentId;
    const secret = newSecret('agentSecret');
    const key = agentKey(token.school_id, agentId);
    const username = agentMqttUsername(token.school_id, agentId);
    const clientId = agentMqttClientId(token.school_id, agentId);
    const hostname = untrustedText(request.hostname ?? '', 253) ?? null;
    // A key once kept is the PC's for good: a proof with it was required, so a different one sent along is ignored.
    const publicKey = comesBack?.public_key ?? request.publicKey ?? null;
    if (comesBack) {
      // A readmitted PC comes back as itself; the admin's readmission is spent.
      await tx.execute(
        'UPDATE agent_credentials SET secret_hash = $1, credential_issued_at = $2, room_id = $3, hostname = $4, enroll_token_id = $5, public_key = $6, revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL, readmit_at = NULL, readmit_by = NULL WHERE agent_key = $7',
        [hashSecret(secret), now, roomId, hostname, token.id, publicKey, key],
      );
    } else {
      await tx.execute(
        `INSERT INTO agent_credentials (${CREDENTIAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, NULL, NULL, NULL, $12, NULL, NULL)`,
        [key, token.school_id, agentId, roomId, request.installationId, username, clientId, hashSecret(secret), token.id, hostname, now, publicKey],
      );
    }
    // Inside the transaction, so a broker that refuses leaves nothing enrolled and the token's use
    // untaken; before the audit append, which takes the chain's head lock no network round trip should hold.
    await registry.brokerAccess.grantAgent(brokerAccountOf({ school_id: token.school_id, agent_id: agentId, mqtt_username: username, mqtt_client_id: clientId }), secret);
    await audit.appendIn(tx, {
      actor: `installation:${request.installationId}`,
      action: 'agent.enroll',
      target: `agent:${key}`,
      outcome: 'success',
      source,
      schoolId: token.school_id,
      detail: {
        tokenId: token.id,
        reenrolled,
        sameAgent: comesBack !== undefined,
        proof,
        wasRevoked,
        readmitted,
        ...(wasRevoked && !readmitted && existing ? { replacesRevokedAgent: existing.agent_key } : {}),
        roomId,
        hostname,
        agentVersion: request.agentVersion ?? null,
      },
    });
    return {
      schoolId: token.school_id,
      agentId,
      roomId,
      reenrolled: comesBack !== undefined,
      ...(wasRevoked && !readmitted && existing ? { replacesRevokedAgent: existing.agent_id } : {}),
      mqtt: { url: this.options.mqttUrl(apiHost), username, password: secret, clientId },
      signingKey: this.options.signingKey.description,
      enrolledAt: new Date(comesBack ? Number(comesBack.enrolled_at) : now).toISOString(),
    };
  }

  /**
   * That the PC enrolling is the one the installation's agent belongs to: a signature with its key
   * over a fresh challenge, or (enrolled before keys) its current MQTT secret, in which case the key
   * it sends now is kept, once it signed with it too. What proved it goes into the audit entry.
   */
  private proveSamePc(existing: CredentialRow, request: EnrollRequest, token: EnrollTokenRow): 'key' | 'credential' {
    const notSame = (why: string): AvcareError =>
      new AvcareError(
        'ENROLL_NOT_SAME_PC',
        `installation ${request.installationId} is already enrolled as agent ${existing.agent_id}, and this enrollment does not prove it is that PC: ${why}`,
        { schoolId: token.school_id, tokenId: token.id },
      );
    if (existing.public_key !== null) {
      if (!request.proof) throw notSame('it sent no signature with the PC\'s key');
      const why = this.checkProof(existing.public_key, request);
      if (why) throw notSame(why);
      return 'key';
    }
    if (request.currentSecret === undefined || !sameHash(hashSecret(request.currentSecret), existing.secret_hash)) throw notSame('the PC enrolled before keys and did not send its current credential');
    this.checkNewKey(request, token);
    return 'credential';
  }

  /** A key sent with an enrollment must be signed with, so nobody registers a key they do not hold. */
  private checkNewKey(request: EnrollRequest, token: EnrollTokenRow): 'key' | 'none' {
    if (request.publicKey === undefined) return 'none';
    const why = request.proof ? this.checkProof(request.publicKey, request) : 'a public key came without a signature made with it';
    if (why) throw new AvcareError('ENROLL_NOT_SAME_PC', `the enrollment's key proof does not hold: ${why}`, { schoolId: token.school_id, tokenId: token.id });
    return 'key';
  }

  private checkProof(publicKeyPem: string, request: EnrollRequest): string | undefined {
    const proof = request.proof;
    if (!proof) return 'no signature';
    if (!verifySignature(publicKeyPem, enrollProofStatement(proof.challenge, request.installationId, request.token), proof.signature)) return 'the signature is not the PC key\'s (over this challenge, installation and token)';
    return this.challenges.spend(proof.challenge);
  }

  private async installationIn(tx: SqlRunner, schoolId: string, installationId: string): Promise<CredentialRow | undefined> {
    const [row] = await tx.query<CredentialRow>(`SELECT ${CREDENTIAL_COLUMNS} FROM agent_credentials WHERE school_id = $1 AND installation_id = $2 ORDER BY enrolled_at DESC LIMIT 1`, [schoolId, installationId]);
    return row;
  }

  /**
   * The requested id, or the first of id-2, id-3, ... that no agent of the school ever had
   * (revoked ones included: a new PC must not inherit another's history).
   */
  private async freeAgentIdIn(tx: SqlRunner, schoolId: string, requested: string): Promise<string> {
    for (let suffix = 1; suffix <= MAX_ID_SUFFIX; suffix += 1) {
      const candidate = suffix === 1 ? requested : `${requested.slice(0, 64 - String(suffix).length - 1)}-${suffix}`;
      const [taken] = await tx.query<{ agent_key: string }>('SELECT agent_key FROM agent_credentials WHERE agent_key = $1', [agentKey(schoolId, candidate)]);
      if (!taken) return candidate;
    }
    throw new AvcareError('INVALID_ARGUMENT', `the school ${schoolId} has ${MAX_ID_SUFFIX} agents named ${requested}; give this PC another agent id`, { schoolId });
  }
}

function withSchool(error: AvcareError, token: EnrollTokenRow): AvcareError {
  return new AvcareError(error.code, error.message, { ...error.context, schoolId: token.school_id, tokenId: token.id });
}

/** PostgreSQL 23505; SQLite serialises writers, so it never gets here. */
function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
