import { Redis } from 'ioredis';
import { LockManager, RecoveryManager, RedisBackend, RedisEventLog, RedisNodeStore } from 'leasehold';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = process.env.PREFIX ?? 'example';
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: 10_000 });
const recovery = new RecoveryManager({
  locks,
  nodes: new RedisNodeStore(redis, { prefix }),
  subscriber: redis, // template for one subscriber connection per master: expiry events
  sweepIntervalMs: 5_000, // the backstop for lost events: recovery within TTL + 5 s at worst
  eventLog: new RedisEventLog(redis, 'recovery-events', { prefix }), // for `leasehold watch`
});
recovery.on('recovered', (e) =>
  console.log(`${e.nodeId}: ${e.from} -> ${e.to} (held by ${e.previous.owner}, ${e.latencyMs} ms after its lease expired)`),
);
recovery.on('degraded', (message) => console.warn(message));
await recovery.start();
console.log('recovery running');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void recovery.stop().then(() => locks.close()).then(() => redis.disconnect());
  });
}
