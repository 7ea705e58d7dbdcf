/**
 * How the CLI renders what it read: durations, holders, tables, log entries. Pure functions of their input.
 *
 * @packageDocumentation
 */
import type { HolderInfo } from '../../lock/errors.js';
import type { LogEntry } from '../event-log.js';

/** A duration for people: `850ms`, `8.2s`, `3m05s`, `2h14m`, `3d4h`. */
export function duration(ms: number): string {
  const abs = Math.abs(Math.round(ms));
  const sign = ms < 0 ? '-' : '';
  if (abs < 1_000) return `${sign}${abs}ms`;
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(1)}s`;
  const s = Math.floor(abs / 1_000);
  if (s < 3_600) return `${sign}${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${sign}${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}m`;
  return `${sign}${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3_600)}h`;
}

/** An epoch-ms time as ISO 8601, or `-`. */
export function time(ms: number | null | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : '-';
}

/** `"conductor-a" (fence 1732..., purpose "deploy")`. */
export function holder(h: Pick<HolderInfo, 'owner' | 'fence' | 'purpose'>): string {
  return `"${h.owner}" (fence ${h.fence}${h.purpose ? `, purpose "${h.purpose}"` : ''})`;
}

/** Left-aligned columns under a header, two spaces apart, each line indented by two. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The epoch ms of a stream id (`<ms>-<seq>`). */
export function streamTime(id: string): number {
  return Number(id.split('-')[0]);
}

type Body = Readonly<Record<string, unknown>>;

const asBody = (value: unknown): Body => (typeof value === 'object' && value !== null ? (value as Body) : {});
const text = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '?' : JSON.stringify(value));

/** A holder as a log entry's body carries it (`previous`), or `null`. */
function bodyHolder(value: unknown): string | null {
  const h = asBody(value);
  return typeof h.owner === 'string' ? holder({ owner: h.owner, fence: typeof h.fence === 'number' ? h.fence : Number(h.fence), purpose: typeof h.purpose === 'string' ? h.purpose : '' }) : null;
}

/** One line for a recovery event published to the `recovery-events` stream (what `watch` prints). */
export function eventLine(entry: LogEntry): string {
  const b = asBody(entry.body);
  const head = `${time(streamTime(entry.id))} ${entry.type}`;
  const by = typeof b.manager === 'string' ? `, by ${b.manager}` : '';
  const trigger = typeof b.trigger === 'string' ? `, trigger ${b.trigger}` : '';
  const previous = bodyHolder(b.previous);
  switch (entry.type) {
    case 'orphaned':
      return `${head} node ${text(b.nodeId)}: lease of ${previous ?? '?'} expired unreleased${trigger}${by}`;
    case 'recovered': {
      const latency = typeof b.latencyMs === 'number' ? `, ${duration(b.latencyMs)} after expiry` : '';
      return `${head} node ${text(b.nodeId)}: ${text(b.from)} -> ${text(b.to)} (fence ${text(b.fence)}; was ${previous ?? '?'})${trigger}${by}${latency}`;
    }
    case 'reconciled': {
      const last = bodyHolder(b.lastHolder);
      return `${head} node ${text(b.nodeId)}: ${text(b.from)} -> ${text(b.to)} (fence ${text(b.fence)}; no live lease and no orphan record, last holder on record: ${last ?? 'none'})${by}`;
    }
    case 'skipped':
      return `${head} node ${text(b.nodeId)}: ${text(b.reason)}${trigger}${by}`;
    case 'failed':
      return `${head} node ${text(b.nodeId)}: ${text(b.error)}${trigger}${by}`;
    case 'degraded':
      return `${head} ${text(b.message)}${by}`;
    default:
      return `${head} ${JSON.stringify(entry.body)}`;
  }
}

/**
 * One row of the audit table of `status`: when, what, actor, node, previous holder, fence, purpose, time left, reason.
 * A `forced-recovery` record (the outcome that follows a `forced-break`) shows the recovery's fence and what it did.
 */
export function auditRow(entry: LogEntry): string[] {
  const b = asBody(entry.body);
  if (entry.type === 'forced-recovery') {
    const what = typeof b.from === 'string' && typeof b.to === 'string' ? `${text(b.outcome)}: ${b.from} -> ${b.to}` : text(b.outcome);
    return [time(typeof b.at === 'number' ? b.at : streamTime(entry.id)), entry.type, text(b.actor), text(b.nodeId), '-', text(b.fence), '-', '-', what];
  }
  const previous = asBody(b.previous);
  return [
    time(typeof b.at === 'number' ? b.at : streamTime(entry.id)),
    entry.type,
    text(b.actor),
    text(b.nodeId),
    text(previous.owner),
    text(previous.fence),
    typeof previous.purpose === 'string' && previous.purpose ? previous.purpose : '-',
    typeof b.ttlLeftMs === 'number' ? duration(b.ttlLeftMs) : '-',
    text(b.reason),
  ];
}

/** `entry` as `--json` prints it: its id, type, time (epoch ms) and body. */
export function entryJson(entry: LogEntry): { id: string; type: string; at: number; body: unknown } {
  return { id: entry.id, type: entry.type, at: streamTime(entry.id), body: entry.body };
}
