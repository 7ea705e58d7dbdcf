import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from './harness/clients.js';
import { clusterClient, clusterNodes, masterClients, masters, standalone, standaloneClient, uniquePrefix } from './harness/env.js';
import { startCluster } from './harness/redis-cluster.js';
import { RedisServer } from './harness/redis-server.js';

describe('shared servers from the global setup', () => {
  it('answer PING and none is on port 6379', async () => {
    const addresses = [standalone(), ...masters(), ...clusterNodes()];
    expect(addresses).toHaveLength(1 + 3 + 6);
    expect(new Set(addresses.map((a) => a.port)).size).toBe(addresses.length);
    for (const address of addresses) {
      expect(address.host).toBe('127.0.0.1');
      expect(address.port).not.toBe(6379);
      const client = createRedisClient(address);
      try {
        expect(await client.ping()).toBe('PONG');
      } finally {
        await client.quit();
      }
    }
  });

  it('standalone and masters store keys under a unique prefix', async () => {
    const key = `${uniquePrefix('harness')}k`;
    const clients = [standaloneClient(), ...masterClients()];
    try {
      for (const client of clients) {
        await client.set(key, 'v', 'PX', 10_000);
        expect(await client.get(key)).toBe('v');
      }
    } finally {
      await Promise.all(clients.map((c) => c.quit()));
    }
  });

  it('cluster is ok with 3 masters and serves keys', async () => {
    const node = createRedisClient(clusterNodes()[0]!);
    const cluster = clusterClient();
    try {
      expect(String(await node.call('CLUSTER', 'INFO'))).toContain('cluster_state:ok');
      const lines = String(await node.call('CLUSTER', 'NODES')).trim().split('\n');
      expect(lines.filter((l) => l.split(' ')[2]?.includes('master')).length).toBe(3);
      const key = `${uniquePrefix('harness')}k`;
      await cluster.set(key, 'v', 'PX', 10_000);
      expect(await cluster.get(key)).toBe('v');
    } finally {
      await node.quit();
      await cluster.quit();
    }
  });
});

describe('private RedisServer fault injection', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start({ args: ['--enable-debug-command', 'yes'] });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('describes itself', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).not.toBe(6379);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.pid).toBeGreaterThan(0);
  });

  it('start() on a port another redis-server answers on fails: it never takes that server for its own', async () => {
    const error = await RedisServer.start({ port: server.port }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    // Either it saw the other server answer, or its own process exited first on "Address already in use".
    expect((error as Error).message).toMatch(new RegExp(`another redis-server answers on 127\\.0\\.0\\.1:${server.port}|Address already in use`));
    expect(await server.call('PING')).toBe('PONG'); // the first one is untouched
  });

  it('pause() stops answers until resume()', async () => {
    const client = server.client({ commandTimeout: 300 });
    try {
      expect(await client.ping()).toBe('PONG');
      server.pause();
      await expect(client.ping()).rejects.toThrow(/timed out/i);
      server.resume();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('kill() makes connections fail and restart() comes back empty', async () => {
    const client = server.client();
    try {
      await client.set('before-restart', '1');
      const oldPid = server.pid;
      await server.kill();
      expect(server.alive).toBe(false);
      const probe = server.client({ retryStrategy: () => null });
      await expect(probe.ping()).rejects.toThrow();
      probe.disconnect();

      await server.restart();
      expect(server.alive).toBe(true);
      expect(server.pid).not.toBe(oldPid);
      expect(await client.get('before-restart')).toBeNull(); // same client reconnects
    } finally {
      client.disconnect();
    }
  });

  it('clientPause() blocks writes for its duration', async () => {
    const client = server.client();
    const impatient = server.client({ commandTimeout: 200 });
    try {
      await server.clientPause(1_500);
      await expect(impatient.set('paused', '1')).rejects.toThrow(/timed out/i);
      await client.set('paused', '2'); // answered once the pause ends
      expect(await client.get('paused')).toBe('2');
    } finally {
      client.disconnect();
      impatient.disconnect();
    }
  });

  it('stop() is idempotent and removes the process', async () => {
    const extra = await RedisServer.start();
    await extra.stop();
    await extra.stop();
    expect(extra.alive).toBe(false);
  });
});

describe('private cluster', () => {
  it('failover() promotes a replica of the given master', async () => {
    const cluster = await startCluster();
    try {
      const [master] = await cluster.masters();
      const replica = await cluster.replicaOf(master!);
      const promoted = await cluster.failover(master!);
      expect(promoted).toBe(replica);
      const nowMasters = await cluster.masters();
      expect(nowMasters).toContain(replica);
      expect(nowMasters).not.toContain(master);
      expect(nowMasters).toHaveLength(3);

      const client = cluster.client();
      try {
        await client.set('{after-failover}k', 'v');
        expect(await client.get('{after-failover}k')).toBe('v');
      } finally {
        await client.quit();
      }
    } finally {
      await cluster.stop();
    }
  });
});
