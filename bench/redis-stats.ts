import type { Redis } from 'ioredis';

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

/** Counts the commands an ioredis client sends (pipelined ones included), from the moment it is installed. */
export class RequestCounter {
  #count = 0;

  constructor(client: Redis) {
    const send = client.sendCommand.bind(client);
    client.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
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
