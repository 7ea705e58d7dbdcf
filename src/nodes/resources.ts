/**
 * The lock resource that guards a node: `node:<id>`. Conductors and recovery use the same names, so a lease you
 * take on it yourself excludes them too.
 *
 * @example
 * ```ts
 * const info = await locks.inspect(nodeResource('node-1')); // who holds node-1
 * ```
 */
export function nodeResource(nodeId: string): string {
  return NODE_RESOURCE_PREFIX + nodeId;
}

/**
 * What every node's resource starts with (see {@link nodeResource}): recovery lists only these orphans.
 *
 * @example
 * ```ts
 * const stuck = await locks.orphans({ resourcePrefix: NODE_RESOURCE_PREFIX }); // node orphans only
 * ```
 */
export const NODE_RESOURCE_PREFIX = 'node:';

/**
 * The node id a lock resource guards, or `null` when the resource is not a node's.
 *
 * @example
 * ```ts
 * nodeIdOf('node:node-1'); // "node-1"
 * nodeIdOf('conductor:conductor-a'); // null
 * ```
 */
export function nodeIdOf(resource: string): string | null {
  return resource.startsWith(NODE_RESOURCE_PREFIX) && resource.length > NODE_RESOURCE_PREFIX.length ? resource.slice(NODE_RESOURCE_PREFIX.length) : null;
}
