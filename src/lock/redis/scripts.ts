import abandonLua from './scripts/abandon-3.lua';
import acquireLua from './scripts/acquire-4.lua';
import breakLua from './scripts/break-3.lua';
import dropLapsedLua from './scripts/drop-lapsed-2.lua';
import extendLua from './scripts/extend-1.lua';
import handOverLua from './scripts/hand-over-4.lua';
import inspectLua from './scripts/inspect-3.lua';
import leasesLua from './scripts/leases-2.lua';
import libLua from './scripts/lib.lua';
import orphansLua from './scripts/orphans-2.lua';
import raiseFenceLua from './scripts/raise-fence-2.lua';
import releaseLua from './scripts/release-3.lua';
import { ScriptSet } from './script-set.js';

export type { RedisClient } from './script-set.js';

/** The lock backend's scripts. */
export const lockScripts = new ScriptSet('lock', {
  acquire: { lua: acquireLua, keys: 4 }, // self-contained: the hot path, kept lean
  handOver: { lua: handOverLua + acquireLua, keys: 4 }, // a release, then the acquire script's grant
  extend: { lua: libLua + extendLua, keys: 1 },
  release: { lua: releaseLua, keys: 3 },
  inspect: { lua: inspectLua, keys: 3 },
  orphans: { lua: libLua + orphansLua, keys: 2 },
  leases: { lua: leasesLua, keys: 2 },
  break: { lua: libLua + breakLua, keys: 3 },
  raiseFence: { lua: libLua + raiseFenceLua, keys: 2 },
  abandon: { lua: libLua + abandonLua, keys: 3 },
  dropLapsed: { lua: dropLapsedLua, keys: 2 },
});

/** The names of the lock backend's scripts. */
export type ScriptName = Parameters<typeof lockScripts.call>[1];
