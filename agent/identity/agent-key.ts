import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvcareError } from '../../protocol/index.js';

/**
 * This PC's own Ed25519 key, made at its first enrollment and kept in the state directory (0600).
 * Its public half goes to the cloud; the private half never leaves the PC, so only this PC can
 * prove, when it enrolls again, that it is the installation whose agent it asks back.
 */
export interface AgentKey {
  publicKeyPem: string;
  sign(statement: string): string;
}

export function agentKeyFile(stateDir: string): string {
  return join(stateDir, 'agent-key.pem');
}

export function loadOrCreateAgentKey(stateDir: string): AgentKey {
  const file = agentKeyFile(stateDir);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      throw new AvcareError('STATE_UNWRITABLE', `cannot read this PC's key ${file}: ${(error as Error).message}`, { file }, { cause: error });
    }
    privateKey = generateKeyPairSync('ed25519').privateKey;
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key that appeared meanwhile: losing it loses this PC's agent.
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { publicKeyPem, sign: (statement) => sign(null, Buffer.from(statement, 'utf8'), privateKey).toString('base64') };
}
