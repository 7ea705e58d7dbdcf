// The demo's Redis: a private redis-server on a free loopback port (stopped on exit, Ctrl-C included), or the one
// REDIS_URL names, where the demo's keys all carry a prefix of its own and are removed at the end.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A running private Redis: its URL and how to stop it. */
export interface PrivateRedis {
  readonly url: string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address && address.port !== 6379 ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}

/** Starts `redis-server` with no persistence on 127.0.0.1; throws a message saying how to get one when it is missing. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) {
    throw new Error(
      'redis-server is not on PATH. Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) ' +
        'or point the demo at a Redis you have: REDIS_URL=redis://host:port npm run demo',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'leasehold-demo-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const stop = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch (error) {
      if (i > 50) {
        stop();
        throw new Error(`redis-server did not start on port ${port}`, { cause: error });
      }
      probe.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  probe.disconnect();
  return { url, stop };
}

/**
 * Deletes every key of the demo's prefix: the lock backend's and registry's (`<prefix>:…`) and the node store's
 * (`{<prefix>}:…`). Resolves to how many keys it deleted.
 */
export async function removePrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}
