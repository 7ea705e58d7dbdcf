// leasehold's metrics on a Prometheus endpoint: a conductor and a recovery manager record through one OpenTelemetry
// meter, and the OpenTelemetry Prometheus exporter serves them at http://127.0.0.1:9464/metrics (loopback only).
// npm install @opentelemetry/api @opentelemetry/sdk-metrics @opentelemetry/exporter-prometheus
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Redis } from 'ioredis';
import { Conductor, LockManager, NodeExistsError, RecoveryManager, RedisBackend, RedisConductorRegistry, RedisNodeStore } from 'leasehold';

const port = Number(process.env.METRICS_PORT ?? 9464);
const exporter = new PrometheusExporter({ host: '127.0.0.1', port }); // serves GET /metrics
const provider = new MeterProvider({ readers: [exporter] });
const meter = provider.getMeter('leasehold');

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = process.env.PREFIX ?? 'example';
const nodes = new RedisNodeStore(redis, { prefix });
const locks = new LockManager({ backend: new RedisBackend(redis, { prefix }), ttlMs: 10_000, meter });
// The conductor and the recovery manager record through the lock manager's meter unless given their own.
const conductor = new Conductor({ id: 'conductor-metrics', locks, nodes, registry: new RedisConductorRegistry(redis, { prefix }) });
const recovery = new RecoveryManager({ locks, nodes, subscriber: redis });
await exporter.startServer(); // already started by the constructor: this surfaces a port in use
await conductor.start();
await recovery.start();

await nodes.create({ id: 'node-1', provisionState: 'available' }).catch((e: unknown) => {
  if (!(e instanceof NodeExistsError)) throw e;
});
await conductor.withNode('node-1', { purpose: 'deploy' }, async (task) => {
  await task.transition('deploying', { targetState: 'active', from: [task.node.provisionState] });
  return task.transition('active', { targetState: null });
});
console.log(`metrics on http://127.0.0.1:${port}/metrics`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await recovery.stop();
      await conductor.stop();
      await locks.close();
      await provider.shutdown(); // stops the exporter's server
      redis.disconnect();
    })();
  });
}
