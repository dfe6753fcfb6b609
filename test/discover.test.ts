import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discover, type Discovery } from '../agent/discover/discover.js';
import { localNetworks } from '../agent/discover/local-networks.js';
import { canCreateNamespaces, createTestLan, type TestLan } from './helpers/netns.js';
import { runCli } from './helpers/run-cli.js';
import type { PeersConfig } from './sim/discovery-peers.js';

// Discovery against devices on a LAN of our own: a network namespace joined by a veth pair,
// with two projectors (one with a PJLink password), a Sony-protocol camera and a device that
// answers with something else, each on its own address.

const TSX = resolve(import.meta.dirname, '../node_modules/.bin/tsx');
const PEERS = resolve(import.meta.dirname, 'sim/discovery-peers.ts');
const available = await canCreateNamespaces();

describe.skipIf(!available)('avcare-agent discover on a test LAN', () => {
  let lan: TestLan;
  let peers: ChildProcess;
  const heard: string[] = [];

  beforeAll(async () => {
    lan = await createTestLan(4);
    const [projector, locked, camera, chatty] = lan.peerAddresses as [string, string, string, string];
    const config: PeersConfig = {
      projectors: [
        { address: projector, mac: '00:0B:5D:12:34:56', name: 'Room 101', manufacturer: 'EPSON', product: 'EB-X41' },
        { address: locked, mac: '00-0b-5d-65-43-21', name: 'Hall', password: 'secret' },
      ],
      cameras: [{ address: camera, mac: '08:00:46:AA:BB:CC', model: 'SRG-300H', name: 'CAM1' }],
      chatty,
    };
    peers = spawn('ip', ['netns', 'exec', lan.namespace, TSX, PEERS, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: peers.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => heard.push(line));
    await new Promise<void>((ready, fail) => {
      lines.on('line', (line) => line === 'ready' && ready());
      peers.once('exit', (code) => fail(new Error(`discovery peers exited with ${code}`)));
    });
  }, 30_000);

  afterAll(async () => {
    if (peers && peers.exitCode === null) {
      peers.kill();
      await once(peers, 'exit');
    }
    await lan?.close();
  });

  it('finds both projectors and the camera, asks the open projector who it is, and never tries a password', async () => {
    const [projector, locked, camera, chatty] = lan.peerAddresses as [string, string, string, string];
    const found: Discovery = await discover({ networks: localNetworks({ interface: lan.hostInterface }), timeoutMs: 1500 });
    expect(found.networks).toEqual([{ interface: lan.hostInterface, address: lan.hostAddress, prefix: 24, broadcast: lan.broadcast }]);
    const projectors = [...found.projectors].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
    expect(projectors).toEqual([
      {
        address: projector,
        mac: '00:0b:5d:12:34:56',
        interface: lan.hostInterface,
        name: 'Room 101',
        manufacturer: 'EPSON',
        product: 'EB-X41',
        pjlinkClass: '2',
        access: 'open',
        config: { host: projector, name: 'Room 101' },
      },
      { address: locked, mac: '00-0b-5d-65-43-21', interface: lan.hostInterface, access: 'password', config: { host: locked } },
    ]);
    expect(found.cameras).toEqual([
      { address: camera, interface: lan.hostInterface, mac: '08:00:46:aa:bb:cc', model: 'SRG-300H', name: 'CAM1', softwareVersion: '2.10', config: { host: camera, framing: 'sony-ip', name: 'CAM1' } },
    ]);
    expect(found.ignored.map((answer) => [answer.address, answer.port])).toEqual(expect.arrayContaining([[chatty, 4352], [chatty, 52380]]));
    // Only the test LAN's broadcast address was searched, each search sent twice for lost datagrams.
    expect(found.sent).toEqual([{ address: lan.broadcast, port: 4352 }, { address: lan.broadcast, port: 52380 }]);
    const searches = heard.filter((line) => line.startsWith('heard '));
    expect(searches.every((line) => line.split(' ')[2] === lan.hostAddress)).toBe(true);
    expect(searches.filter((line) => line.startsWith('heard 4352 ')).length).toBeGreaterThanOrEqual(2);
  }, 20_000);

  it('prints each device with the configuration line that adds it, and the same as JSON', async () => {
    const [projector, , camera] = lan.peerAddresses as [string, string, string];
    const human = await runCli(['discover', '--interface', lan.hostInterface, '--timeout', '2']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Searched ${lan.hostInterface} ${lan.hostAddress}/24`);
    expect(human.stdout).toContain(`  ${projector}  MAC 00:0b:5d:12:34:56  EPSON EB-X41 "Room 101"  (answers without a password)`);
    expect(human.stdout).toContain(`    add to "pjlink": {"host":"${projector}","name":"Room 101"}`);
    expect(human.stdout).toContain(`    add to "viscaIp": {"host":"${camera}","framing":"sony-ip","name":"CAM1"}`);
    const chinese = await runCli(['--lang', 'zh-CN', 'discover', '--interface', lan.hostInterface, '--timeout', '2']);
    expect(chinese.stdout).toContain('投影机（PJLink 二类搜索）：');
    expect(chinese.stdout).toContain(`  ${projector}  MAC 00:0b:5d:12:34:56  EPSON EB-X41 "Room 101"  (无需密码即可应答)`);
    expect(chinese.stdout).toContain(`    加入 "viscaIp"：{"host":"${camera}","framing":"sony-ip","name":"CAM1"}`);
    const json = JSON.parse((await runCli(['discover', '--interface', lan.hostInterface, '--timeout', '2', '--json'])).stdout) as Discovery;
    expect(json.projectors).toHaveLength(2);
    expect(json.cameras[0]?.config).toEqual({ host: camera, framing: 'sony-ip', name: 'CAM1' });
  }, 30_000);

  it('refuses an interface that does not exist', async () => {
    const result = await runCli(['discover', '--interface', 'avc-none0']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--interface avc-none0: no such interface with an IPv4 network');
  });
});
