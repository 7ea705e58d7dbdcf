// `npm run demo`: two conductor processes hold nodes with leasehold; one is killed with SIGKILL. Its leases are
// not released, so they expire and show up as orphans with their last holder; taking them over grows the fence.
// The survivor keeps its nodes throughout. Exits non-zero when an invariant fails.
//
// Options: --ttl MS (lease TTL, default 3000), --nodes N (per conductor, default 5). REDIS_URL: use that Redis
// (under a prefix of its own, cleaned up) instead of a private redis-server.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { LockManager, RedisBackend } from 'leasehold';
import { startPrivateRedis } from './private-redis.js';

interface Held {
  type: 'held';
  leases: { node: string; fence: number }[];
}
interface Lost {
  type: 'lost';
  node: string;
  reason: string;
}

function options(): { ttl: number; nodes: number } {
  try {
    const { values } = parseArgs({ options: { ttl: { type: 'string', default: '3000' }, nodes: { type: 'string', default: '5' } } });
    const ttl = Number(values.ttl);
    const nodes = Number(values.nodes);
    if (!Number.isInteger(ttl) || ttl < 500 || ttl > 60_000) throw new Error(`--ttl must be a whole number of ms from 500 to 60000; got ${values.ttl}`);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 1_000) throw new Error(`--nodes must be a whole number from 1 to 1000; got ${values.nodes}`);
    return { ttl, nodes };
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    process.exit(2);
  }
}

const { ttl, nodes } = options();
const log = (line: string): void => console.log(`${(performance.now() / 1000).toFixed(1).padStart(5)}s  ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: { url: string; stop(): void } | null = null;
const url = process.env.REDIS_URL ?? (server = await startPrivateRedis()).url;
process.once('SIGINT', () => {
  server?.stop();
  process.exit(130);
});
log(server ? `started a private redis-server at ${url}` : `using REDIS_URL ${url.replace(/\/\/[^@]*@/, '//***@')}`);

const prefix = `demo-${randomBytes(4).toString('hex')}`;
const redis = new Redis(url);
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: ttl });
const failures: string[] = [];

function conductor(id: string, owned: string[]): { child: ChildProcess; held: Promise<Held>; lost: Lost[] } {
  const child = fork(new URL('./demo-conductor.ts', import.meta.url), [url, prefix, id, String(ttl), ...owned], {
    execArgv: process.execArgv,
  });
  const lost: Lost[] = [];
  const held = new Promise<Held>((resolve, reject) => {
    child.on('message', (message: Held | Lost) => (message.type === 'held' ? resolve(message) : lost.push(message)));
    child.once('exit', (code) => reject(new Error(`${id} exited with ${code} before holding its nodes`)));
  });
  return { child, held, lost };
}

const names = (from: number) => Array.from({ length: nodes }, (_, i) => `node-${from + i}`);
const a = conductor('conductor-a', names(0));
const b = conductor('conductor-b', names(nodes));
const [heldA, heldB] = await Promise.all([a.held, b.held]);
log(`conductor-a holds ${heldA.leases.map((l) => l.node).join(', ')}`);
log(`conductor-b holds ${heldB.leases.map((l) => l.node).join(', ')}`);
await sleep(ttl); // past one TTL: heartbeats keep every lease

const killedAt = Date.now();
a.child.kill('SIGKILL');
log(`SIGKILL conductor-a (pid ${a.child.pid}); its ${nodes} leases expire within the TTL (${ttl} ms)`);

const found = new Map<string, number>();
while (found.size < nodes && Date.now() - killedAt < ttl * 3) {
  for (const orphan of await locks.orphans()) {
    if (!found.has(orphan.resource)) {
      found.set(orphan.resource, Date.now() - killedAt);
      log(`orphan ${orphan.resource}: last holder ${orphan.holder.owner}, fence ${orphan.holder.fence}, purpose ${orphan.holder.purpose}`);
    }
  }
  await sleep(50);
}
if (found.size < nodes) failures.push(`only ${found.size} of ${nodes} orphans found within 3 TTLs`);

for (const { node, fence } of heldA.leases) {
  const lease = await locks.acquire(node, { owner: 'recovery:demo', purpose: 'recover' });
  if (lease.previous?.owner !== 'conductor-a') failures.push(`${node}: previous holder ${lease.previous?.owner ?? 'none'}`);
  if (lease.fence <= fence) failures.push(`${node}: fence ${lease.fence} did not grow past ${fence}`);
  log(`recovery took ${node} from ${lease.previous?.owner ?? '?'}: fence ${fence} -> ${lease.fence}`);
  await lease.release();
}

for (const { node, fence } of heldB.leases) {
  const info = await locks.inspect(node);
  if (info.holder?.owner !== 'conductor-b' || info.holder.fence !== fence) failures.push(`${node}: survivor lost its lease`);
}
if (b.lost.length > 0) failures.push(`conductor-b lost ${b.lost.length} leases`);
log(`conductor-b still holds all ${nodes} of its nodes; stopping it gracefully`);
b.child.send({ type: 'stop' });
await new Promise((resolve) => b.child.once('exit', resolve));

const left = (await Promise.all([...names(0), ...names(nodes)].map((node) => locks.inspect(node)))).filter((i) => i.holder || i.orphan);
if (left.length > 0) failures.push(`${left.length} leases or orphans left behind`);

const delays = [...found.values()].sort((x, y) => x - y);
console.log('\nsummary');
console.table({
  'TTL (ms)': ttl,
  'orphans found': `${found.size} / ${nodes}`,
  'kill -> orphan min (ms)': delays[0] ?? '-',
  'kill -> orphan p50 (ms)': delays[Math.floor(delays.length / 2)] ?? '-',
  'kill -> orphan max (ms)': delays.at(-1) ?? '-',
  'survivor leases lost': b.lost.length,
  'leases left': left.length,
});

// Clean up our prefix when using someone else's Redis.
if (!server) {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
}
await locks.close();
redis.disconnect();
server?.stop();
if (failures.length > 0) {
  console.error(`\nFAILED:\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
console.log('\nall invariants held');
