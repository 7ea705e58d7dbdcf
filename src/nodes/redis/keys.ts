import type { ProvisionStateValue } from '../states.js';

/**
 * Key layout of one `RedisNodeStore`. Every key carries the same hash tag, `{<prefix>}`, so each script
 * touches one Cluster slot and a store lives on one Cluster master (two stores with different prefixes usually
 * land on different ones):
 *
 * | key                          | type | holds                                                   |
 * |------------------------------|------|---------------------------------------------------------|
 * | `{<prefix>}:node:<id>`       | hash | the node's fields, named like `Node`'s (see scripts/lib.lua) |
 * | `{<prefix>}:state:<state>`   | set  | ids of the nodes in that provision state                 |
 * | `{<prefix>}:all`             | set  | every node id                                            |
 * | `{<prefix>}:maintenance`     | set  | ids of the nodes in maintenance                          |
 *
 * The prefix can hold no `{` or `}` (checked by the store), so the tag is always the first braces of every key,
 * whatever characters a node id holds.
 *
 * @internal
 */
export class NodeKeys {
  readonly #tag: string;

  constructor(prefix: string) {
    this.#tag = `{${prefix}}`;
  }

  /** The hash of one node. */
  node(id: string): string {
    return `${this.#tag}:node:${id}`;
  }

  /** The set of the ids of the nodes in a provision state. */
  state(state: ProvisionStateValue): string {
    return `${this.#tag}:state:${state}`;
  }

  /** The set of every node id. */
  get all(): string {
    return `${this.#tag}:all`;
  }

  /** The set of the ids of the nodes in maintenance. */
  get maintenance(): string {
    return `${this.#tag}:maintenance`;
  }
}
