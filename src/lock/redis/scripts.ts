import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import acquireLua from './scripts/acquire-3.lua';
import extendLua from './scripts/extend.lua';
import inspectLua from './scripts/inspect-3.lua';
import libLua from './scripts/lib.lua';
import orphansLua from './scripts/orphans-2.lua';
import releaseLua from './scripts/release-2.lua';

/** The ioredis clients a backend accepts: standalone/Sentinel (`Redis`) or `Cluster`. */
export type RedisClient = Redis | Cluster;

type Reply = unknown;
type ScriptCall = (...args: (string | number)[]) => Promise<Reply>;

/** A script: its Lua source and how many KEYS it takes (`undefined`: the caller passes the count first). */
interface ScriptSpec {
  readonly lua: string;
  readonly keys: number | undefined;
}

const SPECS = {
  acquire: { lua: libLua + acquireLua, keys: 3 },
  extend: { lua: libLua + extendLua, keys: undefined },
  release: { lua: releaseLua, keys: 2 },
  inspect: { lua: inspectLua, keys: 3 },
  orphans: { lua: libLua + orphansLua, keys: 2 },
} as const satisfies Record<string, ScriptSpec>;

/** The names of leasehold's scripts. */
export type ScriptName = keyof typeof SPECS;

/**
 * The command name a script is defined under on a client. It ends with a hash of the script's text, so two
 * versions of leasehold sharing one client never call each other's scripts.
 */
function commandName(name: ScriptName): string {
  const digest = createHash('sha1').update(SPECS[name].lua).digest('hex').slice(0, 10);
  return `leasehold_${name}_${digest}`;
}

const NAMES: Readonly<Record<ScriptName, string>> = Object.freeze(
  Object.fromEntries(Object.keys(SPECS).map((name) => [name, commandName(name as ScriptName)])) as Record<ScriptName, string>,
);

/**
 * Defines leasehold's scripts on a client once (ioredis then calls them by SHA, loading them on NOSCRIPT, in
 * pipelines and on every Cluster node alike).
 */
export function defineScripts(client: RedisClient): void {
  const known = client as unknown as Record<string, unknown>;
  for (const name of Object.keys(SPECS) as ScriptName[]) {
    if (typeof known[NAMES[name]] === 'function') continue;
    const spec: ScriptSpec = SPECS[name];
    client.defineCommand(NAMES[name], spec.keys === undefined ? { lua: spec.lua } : { lua: spec.lua, numberOfKeys: spec.keys });
  }
}

/** Calls a script on a client (or a pipeline of it) on which {@link defineScripts} ran. */
export function callScript(target: object, name: ScriptName, args: (string | number)[]): Promise<Reply> {
  const fn = (target as Record<string, ScriptCall | undefined>)[NAMES[name]];
  if (typeof fn !== 'function') throw new Error(`leasehold script ${name} is not defined on this client`);
  return fn.apply(target, args);
}
