import type { ProvisionStateValue } from './states.js';

/** A node as a store holds it. Objects returned by stores are frozen snapshots. */
export interface Node {
  /** The node's id (e.g. an Ironic node UUID). */
  readonly id: string;
  /** Its provision state. */
  readonly provisionState: ProvisionStateValue;
  /** The state the current operation aims at, or `null` when none is under way. */
  readonly targetState: ProvisionStateValue | null;
  /** Whether operators put it in maintenance. Recovery handles nodes in maintenance too. */
  readonly maintenance: boolean;
  /** The driver (hardware type) that operates it, e.g. `"ipmi"`. Informational: recovery never needs it. */
  readonly driver: string;
  /** What went wrong last, or `null`. */
  readonly lastError: string | null;
  /** The highest fence that wrote the node; 0 for a node never written under a lease. */
  readonly fence: number;
  /** When it was last written, epoch milliseconds (the store's clock). */
  readonly updatedAt: number;
}

/** What `create()` takes: a new node's id and initial fields. */
export interface NewNode {
  /** The node's id: a non-empty string of at most 255 UTF-8 bytes. */
  readonly id: string;
  /** Initial provision state. @defaultValue `"enroll"` */
  readonly provisionState?: ProvisionStateValue;
  /** @defaultValue `null` */
  readonly targetState?: ProvisionStateValue | null;
  /** @defaultValue `false` */
  readonly maintenance?: boolean;
  /** @defaultValue `""` */
  readonly driver?: string;
  /** @defaultValue `null` */
  readonly lastError?: string | null;
}

/** A fenced compare-and-set transition. */
export interface Transition {
  /** The states the writer believes the node is in; the write applies only if it is in one of them. */
  readonly from: readonly ProvisionStateValue[];
  /** The state to move to. */
  readonly to: ProvisionStateValue;
  /** The writer's lease fence: the write applies only if it is >= the node's stored fence, and is then stored. */
  readonly fence: number;
  /** The new target state; unchanged when omitted, cleared with `null`. */
  readonly targetState?: ProvisionStateValue | null;
  /** The new last error; unchanged when omitted, cleared with `null`. */
  readonly lastError?: string | null;
  /** The new maintenance flag; unchanged when omitted. */
  readonly maintenance?: boolean;
}

/** Filters of `list()`. */
export interface NodeQuery {
  /** Only nodes in this state, or in any of these states. */
  readonly state?: ProvisionStateValue | readonly ProvisionStateValue[];
  /** Only nodes with this maintenance flag. */
  readonly maintenance?: boolean;
}
