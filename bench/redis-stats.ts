import type { Cluster, Redis } from 'ioredis';

/** Calls per command, from `INFO commandstats` (e.g. `evalsha`, `get`, `config|resetstat`). */
export type CommandCalls = ReadonlyMap<string, number>;

/** Parses an `INFO` section into its `field:value` pairs. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (line.startsWith('#') || colon < 0) continue;
    fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Calls per command since the server started (or since CONFIG RESETSTAT). */
export async function commandCalls(client: Redis): Promise<CommandCalls> {
  const calls = new Map<string, number>();
  for (const [field, value] of parseInfo(await client.info('commandstats'))) {
    const match = /^calls=(\d+)/.exec(value);
    if (field.startsWith('cmdstat_') && match) calls.set(field.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** What the server executed between two {@link commandCalls} snapshots. */
export interface CommandDelta {
  /** Every command executed, including those a Lua script called, excluding the `INFO` used to measure. */
  readonly total: number;
  /** Script invocations (`EVALSHA` + `EVAL`): the requests that ran a script. */
  readonly scripts: number;
  /** Calls per command. */
  readonly byCommand: ReadonlyMap<string, number>;
}

/** The difference of two {@link commandCalls} snapshots, leaving out the measuring `INFO` calls. */
export function commandDelta(before: CommandCalls, after: CommandCalls): CommandDelta {
  const byCommand = new Map<string, number>();
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0 && name !== 'info') byCommand.set(name, delta);
  }
  let total = 0;
  for (const calls of byCommand.values()) total += calls;
  return { total, scripts: (byCommand.get('evalsha') ?? 0) + (byCommand.get('eval') ?? 0), byCommand };
}

/** `used_memory` of the server, in bytes. */
export async function usedMemory(client: Redis): Promise<number> {
  const value = parseInfo(await client.info('memory')).get('used_memory');
  if (value === undefined) throw new Error('INFO memory has no used_memory');
  return Number(value);
}

/** CPU time the server process used since it started (user + system), in µs, from `INFO cpu`. */
export async function serverCpuMicros(client: Redis): Promise<number> {
  const fields = parseInfo(await client.info('cpu'));
  return (Number(fields.get('used_cpu_user') ?? 0) + Number(fields.get('used_cpu_sys') ?? 0)) * 1e6;
}

/** Median round trip of `count` sequential PINGs, in µs: how slow a loopback round trip is on this machine now. */
export async function pingRoundTripUs(client: Redis, count = 2000): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await client.ping();
    times.push((performance.now() - started) * 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** The server's version, from `INFO server`. */
export async function serverVersion(client: Redis): Promise<string> {
  return parseInfo(await client.info('server')).get('redis_version') ?? 'unknown';
}

/**
 * Counts the commands an ioredis client sends (pipelined ones included), from the moment it is installed. On a
 * Cluster client it counts each command once, as the caller issued it (a MOVED or ASK redirection it follows
 * internally is not counted again).
 */
export class RequestCounter {
  #count = 0;

  constructor(client: Redis | Cluster) {
    const target = client as unknown as { sendCommand: (...args: unknown[]) => unknown };
    const send = target.sendCommand.bind(target);
    target.sendCommand = (...args: unknown[]) => {
      this.#count++;
      return send(...args);
    };
  }

  /** Commands sent since the last reset. */
  get count(): number {
    return this.#count;
  }

  reset(): void {
    this.#count = 0;
  }
}

/** Calls per command added up over several servers (e.g. the masters of a Cluster). */
export function sumCalls(snapshots: readonly CommandCalls[]): CommandCalls {
  const sum = new Map<string, number>();
  for (const calls of snapshots) for (const [name, n] of calls) sum.set(name, (sum.get(name) ?? 0) + n);
  return sum;
}

/** Keys and keys with a TTL in db 0, from `INFO keyspace`. */
export async function keyspace(client: Redis): Promise<{ keys: number; expires: number }> {
  const db0 = parseInfo(await client.info('keyspace')).get('db0') ?? '';
  const field = (name: string): number => Number(new RegExp(`${name}=(\\d+)`).exec(db0)?.[1] ?? 0);
  return { keys: field('keys'), expires: field('expires') };
}

/**
 * `used_memory` without the replication and client buffers (`mem_replication_backlog` + `mem_clients_slaves` +
 * `mem_clients_normal`), in bytes: what the data takes. A master's replication backlog fills up (to 1 MB by default)
 * with the first writes after its replicas attached, and replica and client buffers come and go with the traffic of
 * the moment; leaving them out keeps a before/after difference about the keys alone.
 */
export async function dataMemory(client: Redis): Promise<number> {
  const fields = parseInfo(await client.info('memory'));
  const n = (name: string): number => Number(fields.get(name) ?? 0);
  return n('used_memory') - n('mem_replication_backlog') - n('mem_clients_slaves') - n('mem_clients_normal');
}
