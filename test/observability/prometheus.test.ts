// examples/metrics-prometheus.ts runs as users run it (its own process, the package by name), and its Prometheus
// endpoint is scraped over loopback HTTP: leasehold's instruments are there, and they move when a node is recovered.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisBackend, RedisNodeStore } from 'leasehold';
import { standalone, uniquePrefix } from '../harness/env.js';
import { pickFreePort } from '../harness/net.js';
import { waitFor } from '../support/wait.js';

const root = resolve(import.meta.dirname, '../..');

describe('examples/metrics-prometheus.ts', () => {
  it('serves leasehold metrics that a Prometheus scrape finds', async () => {
    const { host, port } = standalone();
    const metricsPort = await pickFreePort();
    const prefix = uniquePrefix('prometheus');
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './tools/lua-text.mjs', 'examples/metrics-prometheus.ts'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: `redis://${host}:${port}`, PREFIX: prefix, METRICS_PORT: String(metricsPort) },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const redis = new Redis({ host, port, lazyConnect: true });
    try {
      await waitFor(() => out.includes('metrics on ') || child.exitCode !== null, 30_000);
      expect(out).toContain(`metrics on http://127.0.0.1:${metricsPort}/metrics`);
      const scrape = async (): Promise<string> => {
        const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(response.status).toBe(200);
        return response.text();
      };
      const first = await scrape();
      expect(first).toMatch(/^leasehold_leases_held\{[^}]*backend="redis"[^}]*\} 1$/m); // the liveness lease
      expect(first).toMatch(/^leasehold_conductors_online\{[^}]*\} 1$/m);
      expect(first).toMatch(/^leasehold_acquire_duration_count\{[^}]*outcome="acquired"[^}]*\} 2$/m);
      expect(first).toContain('# TYPE leasehold_acquire_duration histogram');

      // A dead holder's node: the example's recovery manager fails it, and the scrape shows it.
      const nodes = new RedisNodeStore(redis, { prefix });
      await nodes.create({ id: 'node-9', provisionState: 'available' });
      const taken = await new RedisBackend(redis, { prefix }).acquire({ resource: 'node:node-9', token: 't', owner: 'dead', purpose: 'deploy', ttlMs: 300 });
      if (!taken.acquired) throw new Error('not acquired');
      await nodes.transition('node-9', { from: ['available'], to: 'deploying', fence: taken.fence });
      let scraped = '';
      const until = Date.now() + 15_000;
      while (!/^leasehold_nodes_recovered_total\{/m.test(scraped) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        scraped = await scrape();
      }
      expect(scraped).toMatch(/^leasehold_nodes_recovered_total\{[^}]*from_state="deploying"[^}]*to_state="deploy failed"[^}]*\} 1$/m);
      // Usually heard as an event; a sweep of the example may find it first, in the moment before the event.
      expect(scraped).toMatch(/^leasehold_orphans_detected_total\{[^}]*trigger="(event|sweep)"[^}]*\} 1$/m);
      expect(scraped).toMatch(/^leasehold_recovery_latency_count\{[^}]*\} 1$/m);
    } finally {
      redis.disconnect();
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
