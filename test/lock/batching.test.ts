// Heartbeats are batched: every lease a manager holds is renewed with one script call per shard that holds leases,
// all sent together (one pipeline on a standalone server), so a beat's cost grows with the shards in use, not with
// the lease count. Counted by Redis itself (INFO commandstats) on a private server, where no other test's traffic
// can disturb the counts.
import { describe, expect, it } from 'vitest';
import { LockManager, RedisBackend, type ExtendItem, type HeartbeatReport, type KeySpace } from '../../src/index.js';
import { eventually } from '../support/wait.js';
import { resourcesCoveringShards } from '../support/shards.js';
import { privateServer } from '../support/private-server.js';

const TTL_MS = 1_500;
/** Beats counted per measurement window. */
const BEATS = 4;
/** Windows tried before giving up when the machine is too busy to keep the window boundaries between beats. */
const WINDOW_ATTEMPTS = 5;

/** Parses `INFO` text into field -> value, commandstats lines included (`cmdstat_evalsha` -> `calls=3,...`). */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

function commandCalls(info: Map<string, string>, command: string): number {
  const match = /(?:^|,)calls=(\d+)/.exec(info.get(`cmdstat_${command}`) ?? '');
  return match ? Number(match[1]) : 0;
}

interface Measurement {
  /** Distinct shards holding the manager's leases. */
  shardsInUse: number;
  /** Heartbeats counted in the window. */
  beats: number;
  /** Reports of the counted heartbeats. */
  reports: HeartbeatReport[];
  /** EVALSHA / EVAL calls Redis executed during the window. */
  evalsha: number;
  eval: number;
  /** Times Redis read from a client socket during the window (ours: one, for INFO). */
  reads: number;
}

describe('batched heartbeats (private standalone server)', () => {
  const ctx = privateServer();

  /**
   * Holds `resources` in a fresh manager, lets one beat load the script on the connection, then counts the Redis
   * calls of exactly {@link BEATS} beats. The window opens with CONFIG RESETSTAT right after one beat's event and
   * closes with INFO right after a later beat's event; both replies must arrive before the following beat can even
   * start (it starts one heartbeat interval after the event), so the window holds whole beats, and only those.
   */
  async function measure(prefix: string, shards: number | undefined, resources: (keys: KeySpace) => string[]): Promise<Measurement> {
    const backend = new RedisBackend(ctx.redis, shards === undefined ? { prefix } : { prefix, shards });
    const locks = new LockManager({ backend, ttlMs: TTL_MS });
    const { heartbeatMs } = locks.options;
    const names = resources(backend.keys);
    const lostEvents: string[] = [];
    const errors: unknown[] = [];
    locks.on('lost', (lease) => lostEvents.push(lease.resource));
    locks.on('error', (error) => errors.push(error));
    const beats: { report: HeartbeatReport; at: number }[] = [];
    let onBeat: (() => void) | undefined;
    locks.on('heartbeat', (report) => {
      beats.push({ report, at: performance.now() });
      onBeat?.();
    });
    const nextBeat = (): Promise<number> =>
      eventually<number>(
        (done) => {
          onBeat = () => {
            onBeat = undefined;
            done(beats.length);
          };
        },
        10 * heartbeatMs,
        'a heartbeat',
      );

    try {
      const leases = await Promise.all(names.map((resource) => locks.acquire(resource, { owner: 'batcher' })));
      await nextBeat(); // warm-up: the first beat on a connection sends EVAL (ioredis), later beats EVALSHA

      for (let attempt = 1; attempt <= WINDOW_ATTEMPTS; attempt++) {
        const opened = await nextBeat();
        await ctx.admin.config('RESETSTAT');
        if (performance.now() - beats[opened - 1]!.at >= heartbeatMs) continue; // too slow: the next beat may be in
        let closed = opened;
        while (closed < opened + BEATS) closed = await nextBeat();
        const info = parseInfo(String(await ctx.admin.call('INFO', 'commandstats', 'stats')));
        if (performance.now() - beats[closed - 1]!.at >= heartbeatMs || beats.length !== closed) continue;

        expect(lostEvents).toEqual([]);
        expect(errors).toEqual([]);
        expect(leases.every((lease) => lease.state === 'held')).toBe(true);
        return {
          shardsInUse: new Set(names.map((resource) => backend.keys.shardOf(resource))).size,
          beats: closed - opened,
          reports: beats.slice(opened, closed).map((beat) => beat.report),
          evalsha: commandCalls(info, 'evalsha'),
          eval: commandCalls(info, 'eval'),
          reads: Number(info.get('total_reads_processed')),
        };
      }
      throw new Error(`no clean measurement window in ${WINDOW_ATTEMPTS} attempts: the machine is too busy for ${heartbeatMs} ms beats`);
    } finally {
      await locks.close();
    }
  }

  function expectEveryLeaseRenewed(measured: Measurement, leases: number): void {
    expect(measured.beats).toBe(BEATS);
    for (const report of measured.reports) {
      expect(report).toMatchObject({ leases, renewed: leases, lost: 0 });
      expect(report.durationMs).toBeGreaterThanOrEqual(0);
    }
  }

  it('renews 500 leases with one EVALSHA per shard in use per beat: as many calls as for 50 leases', async () => {
    const many = await measure('batch-500', undefined, (keys) => resourcesCoveringShards(keys, 500));
    const few = await measure('batch-50', undefined, (keys) => resourcesCoveringShards(keys, 50));

    expectEveryLeaseRenewed(many, 500);
    expectEveryLeaseRenewed(few, 50);
    // Default shard count: 16, and both lease sets use every shard.
    expect(many.shardsInUse).toBe(16);
    expect(few.shardsInUse).toBe(16);
    // One script call per shard in use per beat, whatever the lease count; the script stays cached (no EVAL).
    expect(many.evalsha).toBe(many.beats * many.shardsInUse);
    expect(few.evalsha).toBe(few.beats * few.shardsInUse);
    expect(many.evalsha / many.beats).toBe(few.evalsha / few.beats);
    expect(many.eval + few.eval).toBe(0);

    // Sent together: a client that waited for each reply before sending the next call would make Redis read its
    // socket at least once per call. The 16 calls of a beat leave in at most 3 writes (write-batching.test.ts
    // counts them), so Redis reads a beat in 1 to 3 reads: fewer when it wakes after several writes arrived.
    // The bound leaves room for a write read in two parts on a busy machine.
    const fewReadsPerBeat = (few.reads - 1) / few.beats; // minus the read of our own INFO
    expect(fewReadsPerBeat).toBeLessThanOrEqual(few.shardsInUse / 4);
    const manyReadsPerBeat = (many.reads - 1) / many.beats;
    expect(manyReadsPerBeat).toBeLessThan(many.shardsInUse);
  });

  it('with shards: 1, renews all 500 leases with exactly one EVALSHA per beat', async () => {
    const single = await measure('batch-1-shard', 1, (keys) => resourcesCoveringShards(keys, 500));
    expectEveryLeaseRenewed(single, 500);
    expect(single.shardsInUse).toBe(1);
    expect(single.evalsha).toBe(single.beats);
    expect(single.eval).toBe(0);
  });

  it('renews leases named with colons, newlines, digits and multi-byte text in one packed call, and reports exactly the lost one', async () => {
    const prefix = 'batch-odd-names';
    const backend = new RedisBackend(ctx.redis, { prefix, shards: 1 });
    const locks = new LockManager({ backend, ttlMs: TTL_MS });
    const names = ['a:b', 'x\ny', '12:', ':', '\n', '3:abc', 'nœud-✓-😀', 'plain', 'z'.repeat(512)];
    const lost: string[] = [];
    locks.on('lost', (lease) => lost.push(lease.resource));
    try {
      const leases = await Promise.all(names.map((resource) => locks.acquire(resource, { owner: 'packer' })));
      await ctx.admin.del(backend.keys.lockKey('x\ny')); // only this lease's lock is gone
      const beat = await eventually<HeartbeatReport>((done) => locks.once('heartbeat', done), 10 * locks.options.heartbeatMs, 'a heartbeat');
      expect(beat).toMatchObject({ leases: names.length, renewed: names.length - 1, lost: 1 });
      // Read at once, right after the beat (one write of all the commands), not one round trip after another.
      const [tokens, pttls] = await Promise.all([
        Promise.all(leases.map((lease) => ctx.admin.get(backend.keys.lockKey(lease.resource)))),
        Promise.all(leases.map((lease) => ctx.admin.pttl(backend.keys.lockKey(lease.resource)))),
      ]);
      expect(lost).toEqual(['x\ny']);
      leases.forEach((lease, i) => {
        expect(lease.state).toBe(lease.resource === 'x\ny' ? 'lost' : 'held');
        if (lease.resource === 'x\ny') return;
        expect(tokens[i]).toBe(lease.token);
        // Renewed just now: nearly a whole TTL left (a lease not renewed would have lost a heartbeat interval).
        expect(pttls[i]).toBeGreaterThan(TTL_MS - locks.options.heartbeatMs / 2);
      });
      // The held index got the renewed deadlines under the exact names.
      const held = await ctx.admin.zrange(backend.keys.heldKey(0), 0, -1);
      expect(held.sort()).toEqual([...names].sort());
    } finally {
      await locks.close();
    }
  });

  it('renews, through the backend, tokens of any bytes and lengths up to 512, and names up to 512 bytes', async () => {
    const backend = new RedisBackend(ctx.redis, { prefix: 'batch-odd-tokens', shards: 1 });
    const leases = [
      { resource: 'é'.repeat(256), token: 'tok\nwith newline' }, // 512 bytes
      { resource: '001', token: '002' }, // digits where the lengths are read
      { resource: 'r', token: '😀'.repeat(128) }, // 512 bytes
      { resource: 'short', token: 't' },
    ];
    for (const { resource, token } of leases) {
      expect(await backend.acquire({ resource, token, owner: 'packer', purpose: '', ttlMs: TTL_MS })).toMatchObject({ acquired: true });
    }
    await ctx.admin.set(backend.keys.lockKey('001'), 'someone else', 'PX', TTL_MS); // taken over: must be reported lost, left alone
    const items = leases.map(({ resource, token }) => ({ resource, token, ttlMs: 3 * TTL_MS }));
    const parts = await Promise.all(backend.extend(items, { timeoutMs: 5_000 }));
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ indexes: [0, 1, 2, 3], renewed: [true, false, true, true], error: null });
    for (const { resource, token } of leases) {
      const key = backend.keys.lockKey(resource);
      if (resource === '001') {
        expect(await ctx.admin.get(key)).toBe('someone else');
        expect(await ctx.admin.pttl(key)).toBeLessThanOrEqual(TTL_MS);
      } else {
        expect(await ctx.admin.get(key)).toBe(token);
        expect(await ctx.admin.pttl(key)).toBeGreaterThan(TTL_MS); // renewed to 3 TTLs
      }
    }
  });

  it('renews the same item objects at every call, and packs an item anew when its names changed', async () => {
    const backend = new RedisBackend(ctx.redis, { prefix: 'batch-same-items', shards: 2 });
    const items = ['a', 'b', 'c'].map((name) => ({ resource: `node-${name}`, token: `token-${name}`, ttlMs: 2 * TTL_MS }));
    for (const { resource, token } of items) {
      expect(await backend.acquire({ resource, token, owner: 'reuser', purpose: '', ttlMs: TTL_MS })).toMatchObject({ acquired: true });
    }
    const renewedOf = async (list: readonly ExtendItem[]): Promise<boolean[]> => {
      const answer = new Array<boolean>(list.length);
      for (const part of await Promise.all(backend.extend(list, { timeoutMs: 5_000 }))) {
        expect(part.error).toBeNull();
        part.indexes.forEach((i, k) => (answer[i] = part.renewed![k]!));
      }
      return answer;
    };
    expect(await renewedOf(items)).toEqual([true, true, true]);
    expect(await renewedOf(items)).toEqual([true, true, true]); // the same objects again
    // An item is read-only to its type, but a caller may still change one: its new names are what is renewed.
    (items[1] as { token: string }).token = 'not-the-holder';
    (items[2] as { resource: string }).resource = 'node-never-held';
    expect(await renewedOf(items)).toEqual([true, false, false]);
    expect(await ctx.admin.get(backend.keys.lockKey('node-b'))).toBe('token-b'); // left to its holder
    expect(await ctx.admin.pttl(backend.keys.lockKey('node-b'))).toBeGreaterThan(TTL_MS); // from the renewals before
  });

  it('renews items of mixed TTLs and shards, in any order, with one call per (TTL, shard), each to its own TTL', async () => {
    const backend = new RedisBackend(ctx.redis, { prefix: 'batch-mixed-ttl', shards: 4 });
    // Two names per shard; in each shard one lease renewed to 2 TTLs and one to 20, listed round-robin over the shards.
    const byShard: string[][] = [[], [], [], []];
    for (let i = 0; byShard.some((names) => names.length < 2); i++) {
      const names = byShard[backend.keys.shardOf(`node-${i}`)]!;
      if (names.length < 2) names.push(`node-${i}`);
    }
    const items = [0, 1].flatMap((k) =>
      byShard.map((names, shard) => ({ resource: names[k]!, token: `token-${shard}-${k}`, ttlMs: (k === 0 ? 2 : 20) * TTL_MS })),
    );
    for (const { resource, token } of items) {
      expect(await backend.acquire({ resource, token, owner: 'mixer', purpose: '', ttlMs: TTL_MS })).toMatchObject({ acquired: true });
    }
    const parts = await Promise.all(backend.extend(items, { timeoutMs: 5_000 }));
    expect(parts).toHaveLength(8); // 2 TTLs x 4 shards
    expect(parts.flatMap((part) => part.indexes).sort((a, b) => a - b)).toEqual(items.map((_, i) => i)); // each item answered once
    for (const part of parts) {
      expect(part.error).toBeNull();
      expect(part.renewed).toEqual(part.indexes.map(() => true));
      expect(new Set(part.indexes.map((i) => items[i]!.ttlMs)).size).toBe(1);
      expect(new Set(part.indexes.map((i) => backend.keys.shardOf(items[i]!.resource))).size).toBe(1);
    }
    for (const { resource, token, ttlMs } of items) {
      const key = backend.keys.lockKey(resource);
      expect(await ctx.admin.get(key)).toBe(token);
      const pttl = await ctx.admin.pttl(key);
      expect(pttl).toBeGreaterThan(ttlMs - 1_000);
      expect(pttl).toBeLessThanOrEqual(ttlMs);
    }
  });

  it('uses only the shards that hold leases: 3 shards in use out of 16, 3 calls per beat', async () => {
    const three = await measure('batch-3-shards', undefined, (keys) => {
      const wanted = new Set(resourcesCoveringShards(keys, 3).map((resource) => keys.shardOf(resource)));
      const names: string[] = [];
      for (let i = 0; names.length < 120; i++) if (wanted.has(keys.shardOf(`node-${i}`))) names.push(`node-${i}`);
      return names;
    });
    expectEveryLeaseRenewed(three, 120);
    expect(three.evalsha).toBe(three.beats * three.shardsInUse);
    expect(three.shardsInUse).toBe(3);
    expect(three.eval).toBe(0);
  });
});
