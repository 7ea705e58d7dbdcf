// Starts a private redis-server on a free loopback port for the demo, and stops it on exit (Ctrl-C included).
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
    throw new Error('redis-server is not on PATH: install it (Debian: apt-get install -y redis-server) or set REDIS_URL to a Redis to use.');
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
