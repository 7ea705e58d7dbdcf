// The fault scenarios of issue 7 that run on one machine with one Redis, each a Scenario for runScenario().
import type { Scenario } from './scenario.js';

const TTL = 1_000;

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'holder SIGKILL mid-work',
    workers: 3,
    resources: 4,
    ttlMs: TTL,
    recoveryManagers: 1,
    expectRecovery: true,
    async inject(ctx) {
      ctx.fault('SIGKILL', 'worker-0, while it holds a lease');
      await ctx.killHolding(ctx.workers[0]!);
    },
  },
  {
    name: 'holder SIGSTOP past the TTL, then SIGCONT',
    workers: 3,
    resources: 3,
    ttlMs: TTL,
    recoveryManagers: 1,
    careless: true,
    expectRecovery: false,
    async inject(ctx) {
      ctx.fault('SIGSTOP', 'worker-0 for 2.5 TTL');
      ctx.workers[0]!.kill('SIGSTOP');
      await ctx.sleep(2.5 * ctx.ttlMs);
      ctx.workers[0]!.kill('SIGCONT');
    },
  },
  {
    name: 'event loop blocked past the TTL',
    workers: 3,
    resources: 3,
    ttlMs: TTL,
    recoveryManagers: 1,
    careless: true,
    expectRecovery: false,
    async inject(ctx) {
      ctx.fault('block', 'worker-0 for 2.5 TTL');
      ctx.workers[0]!.send({ type: 'block', ms: 2.5 * ctx.ttlMs });
      await ctx.sleep(2.5 * ctx.ttlMs);
    },
  },
  {
    name: 'Redis restarted with no data',
    workers: 3,
    resources: 4,
    ttlMs: TTL,
    recoveryManagers: 1,
    careless: true,
    expectRecovery: false,
    overlapAllowed: 'a Redis that forgets acknowledged writes forgets who holds what; old holders learn at their next heartbeat',
    async inject(ctx) {
      ctx.fault('restart', 'lock Redis, empty');
      await ctx.lockServer.restart();
    },
  },
  {
    name: 'Redis frozen (CLIENT PAUSE) past the TTL',
    workers: 3,
    resources: 3,
    ttlMs: TTL,
    recoveryManagers: 1,
    careless: true,
    expectRecovery: false,
    async inject(ctx) {
      ctx.fault('CLIENT PAUSE', '2 TTL');
      await ctx.lockServer.clientPause(2 * ctx.ttlMs);
      await ctx.sleep(2 * ctx.ttlMs);
    },
  },
  {
    name: 'network delay of about TTL/2',
    workers: 3,
    resources: 3,
    ttlMs: TTL,
    recoveryManagers: 1,
    proxies: true,
    careless: true,
    expectRecovery: false,
    async inject(ctx) {
      ctx.fault('delay', 'TTL/2 on every worker link');
      for (const p of ctx.proxies) p.set({ kind: 'delay', ms: ctx.ttlMs / 2 });
      await ctx.sleep(3 * ctx.ttlMs);
    },
  },
  {
    name: 'one-way black hole between a holder and Redis',
    workers: 3,
    resources: 3,
    ttlMs: TTL,
    recoveryManagers: 1,
    proxies: true,
    careless: true,
    expectRecovery: false,
    async inject(ctx) {
      ctx.fault('blackhole', 'worker-0 -> Redis, 3 TTL');
      ctx.proxies[0]!.set({ kind: 'blackhole', direction: 'to-server' });
      await ctx.sleep(3 * ctx.ttlMs);
    },
  },
  {
    name: 'keys expiring lazily only (active expiry off)',
    workers: 3,
    resources: 4,
    ttlMs: TTL,
    recoveryManagers: 1,
    serverArgs: ['--enable-debug-command', 'yes'],
    expectRecovery: true,
    async inject(ctx) {
      ctx.fault('DEBUG SET-ACTIVE-EXPIRE 0');
      await ctx.lockServer.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
      await ctx.killHolding(ctx.workers[0]!);
    },
  },
  {
    name: 'three recovery managers racing',
    workers: 4,
    resources: 6,
    ttlMs: TTL,
    recoveryManagers: 3,
    sweepIntervalMs: 200,
    expectRecovery: true,
    async inject(ctx) {
      ctx.fault('SIGKILL', 'worker-0 and worker-1, each while it holds a lease');
      await ctx.killHolding(ctx.workers[0]!);
      await ctx.killHolding(ctx.workers[1]!);
    },
  },
];
