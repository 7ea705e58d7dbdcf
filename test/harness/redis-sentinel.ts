// A private Sentinel deployment: one master, one replica and three sentinels (`redis-server <conf> --sentinel`), all
// on loopback ports of their own, stopped (and their directories removed) at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { LOOPBACK, pickFreePort, ping } from './net.js';
import { forgetDir, reapOnExit, removeOnExit } from './reaper.js';
import { RedisServer } from './redis-server.js';

/** The name the sentinels monitor the master under. */
export const SENTINEL_MASTER = 'leasehold-master';

/** A running Sentinel deployment. */
export interface SentinelSet {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The sentinels' addresses. */
  readonly sentinels: { host: string; port: number }[];
  /** The current master's port, as the sentinels report it. */
  masterPort(): Promise<number>;
  /** Forces a failover (SENTINEL FAILOVER) and resolves once the sentinels report the replica as master. */
  failover(): Promise<void>;
  /** An ioredis client that finds the master through the sentinels. The caller must disconnect it. */
  client(): Redis;
  stop(): Promise<void>;
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const master = await RedisServer.start();
  const replica = await RedisServer.start({ args: ['--replicaof', LOOPBACK, String(master.port)] });
  const dir = await mkdtemp(join(tmpdir(), 'leasehold-sentinel-'));
  removeOnExit(dir);
  const ask = async <T>(port: number, ...args: string[]): Promise<T> => {
    const c = new Redis({ host: LOOPBACK, port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      return (await c.call('SENTINEL', ...args)) as T;
    } finally {
      c.disconnect();
    }
  };  const children: ChildProcess[] = [];
  const sentinels: { host: string; port: number }[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const port = await pickFreePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      await writeFile(
        conf,
        [
          `port ${port}`,
          `bind ${LOOPBACK}`,
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${SENTINEL_MASTER} ${LOOPBACK} ${master.port} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
      reapOnExit(child);
      children.push(child);
      sentinels.push({ host: LOOPBACK, port });
    }
    for (const s of sentinels) {
      const until = Date.now() + 10_000;
      while (!(await ping(s.port))) {
        if (Date.now() > until) throw new Error(`sentinel on ${s.port} did not come up`);
        await sleep(50);
      }
    }
    // Wait until the replica is linked and every sentinel knows the replica and the other sentinels.
    const until = Date.now() + 20_000;
    for (;;) {
      const info = String(await replica.call('INFO', 'replication'));
      const ready = info.includes('master_link_status:up') && (await Promise.all(sentinels.map((s) => knows(s.port)))).every(Boolean);
      if (ready) break;
      if (Date.now() > until) throw new Error(`sentinel deployment did not settle within 20 s: ${info.split('\r\n').filter((l) => l.startsWith('master_link')).join(' ')} ${JSON.stringify(await Promise.all(sentinels.map((s) => ask<unknown>(s.port, 'master', SENTINEL_MASTER).catch((e: unknown) => String(e)))))}`);
      await sleep(100);
    }
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([master.stop(), replica.stop()]);
    throw error;
  }


  const masterPort = async (): Promise<number> => Number((await ask<string[]>(sentinels[0]!.port, 'get-master-addr-by-name', SENTINEL_MASTER))[1]);

  return {
    master,
    replica,
    sentinels,
    masterPort,
    async failover() {
      const before = await masterPort();
      await ask(sentinels[0]!.port, 'FAILOVER', SENTINEL_MASTER);
      const until = Date.now() + 20_000;
      for (;;) {
        const ports = await Promise.all(sentinels.map((s) => ask<string[]>(s.port, 'get-master-addr-by-name', SENTINEL_MASTER).then((r) => Number(r[1]))));
        // While promoting it, the sentinels kill the replica's normal clients (CLIENT KILL TYPE normal), this short
        // connection included: a ROLE cut off that way is asked again at the next poll.
        const role = await replica.call('ROLE').then(String, () => '');
        if (ports.every((p) => p !== before) && role.startsWith('master')) return;
        if (Date.now() > until) throw new Error('failover did not complete within 20 s');
        await sleep(100);
      }
    },
    client() {
      return new Redis({ sentinels, name: SENTINEL_MASTER, failoverDetector: true, maxRetriesPerRequest: 2, connectTimeout: 1_000 });
    },
    async stop() {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all([master.stop(), replica.stop()]);
      await rm(dir, { recursive: true, force: true });
      forgetDir(dir);
    },
  };

  async function knows(port: number): Promise<boolean> {
    try {
      const info = await ask<(string | number)[]>(port, 'master', SENTINEL_MASTER);
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < info.length; i += 2) map.set(String(info[i]), String(info[i + 1]));
      return Number(map.get('num-slaves') ?? 0) >= 1 && Number(map.get('num-other-sentinels') ?? 0) >= 2;
    } catch {
      return false;
    }
  }
}
