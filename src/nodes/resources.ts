/** The lock resource that guards a node: `node:<id>`. Conductors and recovery use the same names. */
export function nodeResource(nodeId: string): string {
  return `node:${nodeId}`;
}

/** The node id a lock resource guards, or `null` when the resource is not a node's. */
export function nodeIdOf(resource: string): string | null {
  return resource.startsWith('node:') && resource.length > 5 ? resource.slice(5) : null;
}
