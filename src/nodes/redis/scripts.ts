import lockLibLua from '../../lock/redis/scripts/lib.lua';
import { ScriptSet } from '../../lock/redis/script-set.js';
import createLua from './scripts/create-4.lua';
import libLua from './scripts/lib.lua';
import transitionLua from './scripts/transition.lua';

/** What every node script starts with: the server clock helpers (`server_now`, `decimal`), then the node helpers. */
const prelude = lockLibLua + libLua;

/**
 * The node store's scripts, one per write: defined once per ioredis client and called by SHA. Reads are plain
 * commands and need none.
 */
export const nodeScripts = new ScriptSet('nodes', {
  create: { lua: prelude + createLua, keys: 4 },
  transition: { lua: prelude + transitionLua, keys: undefined },
});

/** The names of the node store's scripts. */
export type NodeScriptName = Parameters<typeof nodeScripts.call>[1];
