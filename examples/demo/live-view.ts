// Live progress: on a terminal, a table of the nodes by state and holder redrawn in place, with the last events
// under it; anywhere else (a pipe, a log, CI), plain timestamped lines.
import { isTransientState, type ProvisionStateValue } from 'leasehold';
import { FAILED_STATES } from './operations.js';

/** What the view shows at one instant. */
export interface LiveSnapshot {
  readonly headline: string;
  readonly conductors: readonly { readonly id: string; readonly status: string; readonly held: number }[];
  readonly nodes: readonly { readonly id: string; readonly state: ProvisionStateValue; readonly holder: string | null; readonly operation: string | null }[];
}

export interface LiveView {
  /** An event worth a line of its own. */
  line(text: string): void;
  update(snapshot: LiveSnapshot): void;
  /** Draws the last frame and gives the terminal back. */
  close(): void;
}

const ESC = '\x1b[';
const paint = (code: number, text: string): string => `${ESC}${code}m${text}${ESC}0m`;

function stateColor(state: ProvisionStateValue): number {
  if (isTransientState(state)) return 33; // yellow: an operation is under way
  if (FAILED_STATES.includes(state)) return 31; // red
  return 32; // green: stable
}

function byState(snapshot: LiveSnapshot): [ProvisionStateValue, number, Map<string, number>][] {
  const rows = new Map<ProvisionStateValue, [number, Map<string, number>]>();
  for (const node of snapshot.nodes) {
    const row = rows.get(node.state) ?? [0, new Map<string, number>()];
    row[0]++;
    if (node.holder) row[1].set(node.holder, (row[1].get(node.holder) ?? 0) + 1);
    rows.set(node.state, row);
  }
  return [...rows].map(([state, [n, holders]]) => [state, n, holders] as [ProvisionStateValue, number, Map<string, number>]).sort(([a], [b]) => a.localeCompare(b));
}

class TerminalView implements LiveView {
  readonly #out: NodeJS.WriteStream;
  readonly #startedAt: number;
  readonly #events: string[] = [];
  #drawn = 0;
  #last: LiveSnapshot | null = null;

  constructor(out: NodeJS.WriteStream, startedAt: number) {
    this.#out = out;
    this.#startedAt = startedAt;
    out.write(`${ESC}?25l`); // hide the cursor while redrawing
  }

  line(text: string): void {
    this.#events.push(`${((Date.now() - this.#startedAt) / 1000).toFixed(1).padStart(5)}s  ${text}`);
    if (this.#last) this.update(this.#last);
  }

  update(snapshot: LiveSnapshot): void {
    this.#last = snapshot;
    const width = this.#out.columns || 100;
    const lines: string[] = [paint(1, snapshot.headline), ''];
    // Conductors side by side, as many per line as fit (measured without the colour codes).
    let row: string[] = [];
    let used = 0;
    for (const c of snapshot.conductors) {
      const plain = `${c.id} ${c.status} (${c.held} held)   `;
      if (used + plain.length > width && row.length) {
        lines.push(row.join(''));
        [row, used] = [[], 0];
      }
      row.push(`${c.id} ${paint(c.status === 'running' ? 32 : c.status === 'killed' ? 31 : 33, c.status)} (${c.held} held)   `);
      used += plain.length;
    }
    lines.push(row.join(''));
    lines.push('', paint(2, `${'state'.padEnd(16)}${'nodes'.padEnd(7)}holders`));
    for (const [state, n, holders] of byState(snapshot)) {
      const who = ([...holders].map(([h, k]) => `${h} ×${k}`).join(', ') || '-').slice(0, Math.max(10, width - 24));
      lines.push(`${paint(stateColor(state), state.padEnd(16))}${String(n).padEnd(7)}${who}`);
    }
    const room = (this.#out.rows || 40) - lines.length - 10;
    if (snapshot.nodes.length <= room) {
      lines.push('', paint(2, `${'node'.padEnd(10)}${'state'.padEnd(16)}${'holder'.padEnd(24)}operation`));
      for (const node of snapshot.nodes) {
        lines.push(`${node.id.padEnd(10)}${paint(stateColor(node.state), node.state.padEnd(16))}${(node.holder ?? '-').padEnd(24)}${node.operation ?? ''}`);
      }
    }
    lines.push('', ...this.#events.slice(-6).map((e) => e.slice(0, width - 1)));
    const up = this.#drawn > 0 ? `${ESC}${this.#drawn}F` : '';
    this.#out.write(`${up}${ESC}J${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }

  close(): void {
    this.#out.write(`${ESC}?25h`);
  }
}

class PlainView implements LiveView {
  readonly #out: NodeJS.WriteStream;
  readonly #startedAt: number;
  readonly #everyMs: number;
  #lastStatusAt = 0;

  constructor(out: NodeJS.WriteStream, startedAt: number, everyMs: number) {
    this.#out = out;
    this.#startedAt = startedAt;
    this.#everyMs = everyMs;
  }

  line(text: string): void {
    this.#out.write(`${((Date.now() - this.#startedAt) / 1000).toFixed(1).padStart(5)}s  ${text}\n`);
  }

  update(snapshot: LiveSnapshot): void {
    if (Date.now() - this.#lastStatusAt < this.#everyMs) return;
    this.#lastStatusAt = Date.now();
    const states = byState(snapshot).map(([state, n, holders]) => `${state} ${n}${holders.size ? ` [${[...holders].map(([h, k]) => `${h}:${k}`).join(' ')}]` : ''}`);
    this.line(`nodes: ${states.join(', ')}`);
  }

  close(): void {}
}

/** A live view on `out`: redrawn in place when it is a terminal, plain lines (a status line every `everyMs`) otherwise. */
export function createLiveView(out: NodeJS.WriteStream, startedAt: number, everyMs: number): LiveView {
  return out.isTTY ? new TerminalView(out, startedAt) : new PlainView(out, startedAt, everyMs);
}
