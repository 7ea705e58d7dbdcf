// A self-contained HTML report: one inline SVG with a lane per node (its holder above, its state below, over
// time), the fault marked across every lane, each recovery and each write the fence refused marked on its lane,
// and the summary table. No script, no stylesheet or font from the network.
import { isTransientState, type ProvisionStateValue } from 'leasehold';
import type { FaultRecord } from './fault.js';
import { FAILED_STATES } from './operations.js';
import type { Timeline } from './timeline.js';

export interface ReportInput {
  readonly title: string;
  readonly timeline: Timeline;
  readonly nodeIds: readonly string[];
  readonly conductors: readonly string[];
  readonly endedAt: number;
  readonly fault: FaultRecord | null;
  readonly summaryRows: readonly [string, string][];
  readonly failures: readonly string[];
}

const LABEL_W = 90;
const CHART_W = 1000;
const LANE_H = 30;
const TOP = 60;
const HOLDER_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
const RECOVERY_COLOR = '#d62728';

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function stateFill(state: ProvisionStateValue): string {
  if (FAILED_STATES.includes(state)) return '#f4a6a6';
  if (isTransientState(state)) return state.includes('wait') ? '#ffe08a' : '#ffd24d';
  return state === 'active' ? '#8fd19e' : state === 'available' ? '#b9e4c2' : '#d9d9d9';
}

export function renderReport(input: ReportInput): string {
  const { timeline, nodeIds, endedAt, fault } = input;
  const t0 = timeline.startedAt;
  const span = Math.max(1, endedAt - t0);
  const x = (at: number): number => LABEL_W + (Math.min(Math.max(at, t0), endedAt) - t0) * (CHART_W / span);
  const secs = (at: number): string => `${((at - t0) / 1000).toFixed(2)} s`;
  const holderColor = (owner: string): string => {
    if (owner.startsWith('recovery:')) return RECOVERY_COLOR;
    const i = input.conductors.indexOf(owner);
    return HOLDER_COLORS[(i < 0 ? 0 : i) % HOLDER_COLORS.length]!;
  };
  const height = TOP + nodeIds.length * LANE_H + 20;
  const svg: string[] = [];
  svg.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_W + CHART_W + 20}" height="${height}" font-family="sans-serif" font-size="11">`);

  // Time axis.
  const step = [1, 2, 5, 10, 15, 30, 60].find((s) => span / 1000 / s <= 12) ?? 120;
  for (let s = 0; s * 1000 <= span; s += step) {
    const at = x(t0 + s * 1000);
    svg.push(`<line x1="${at}" y1="${TOP - 6}" x2="${at}" y2="${height - 20}" stroke="#eee"/><text x="${at}" y="${TOP - 10}" text-anchor="middle" fill="#666">${s} s</text>`);
  }

  nodeIds.forEach((nodeId, i) => {
    const y = TOP + i * LANE_H;
    svg.push(`<g class="lane" data-node="${esc(nodeId)}"><text x="4" y="${y + 20}">${esc(nodeId)}</text>`);
    for (const lease of timeline.spans.get(`node:${nodeId}`) ?? []) {
      const end = lease.end ?? Math.min(lease.validUntil, endedAt);
      const w = Math.max(2, x(end) - x(lease.start));
      const how = lease.how ?? 'held at the end';
      svg.push(
        `<rect class="holder" x="${x(lease.start)}" y="${y + 2}" width="${w}" height="6" fill="${holderColor(lease.owner)}"><title>${esc(`${lease.owner}, fence ${lease.fence}: ${secs(lease.start)} to ${secs(end)} (${how})`)}</title></rect>`,
      );
    }
    const points = timeline.states.get(nodeId) ?? [];
    points.forEach((point, k) => {
      const until = points[k + 1]?.at ?? endedAt;
      const w = Math.max(1, x(until) - x(point.at));
      svg.push(`<rect class="state" x="${x(point.at)}" y="${y + 10}" width="${w}" height="16" fill="${stateFill(point.state)}" stroke="#fff" stroke-width="0.5"><title>${esc(`${nodeId} ${point.state}: ${secs(point.at)} to ${secs(until)}`)}</title></rect>`);
      if (w > point.state.length * 5.6 + 4) svg.push(`<text x="${x(point.at) + 3}" y="${y + 22}" font-size="9" fill="#333">${esc(point.state)}</text>`);
    });
    for (const r of timeline.recoveries.filter((r) => r.nodeId === nodeId)) {
      const cx = x(r.at);
      const after = fault ? `, ${((r.at - fault.at) / 1000).toFixed(2)} s after the ${fault.kind}` : '';
      svg.push(
        `<path class="recovery" data-node="${esc(nodeId)}" d="M${cx} ${y + 9}l6 9l-6 9l-6 -9z" fill="${RECOVERY_COLOR}" stroke="#fff"><title>${esc(`recovered: ${r.from} -> ${r.to} by ${r.by} (${r.trigger}), orphan of ${r.previous.owner} fence ${r.previous.fence}${after}`)}</title></path>`,
      );
    }
    for (const w of timeline.writes.filter((w) => w.nodeId === nodeId && w.outcome === 'stale-fence')) {
      const cx = x(w.answeredAt);
      svg.push(
        `<path class="stale-write" d="M${cx - 5} ${y + 12}l10 12m0 -12l-10 12" stroke="#000" stroke-width="2.5"><title>${esc(`refused by the fence: ${w.conductor} wrote ${w.to} with fence ${w.fence}; the store holds ${w.storedFence ?? '?'}`)}</title></path>`,
      );
    }
    svg.push('</g>');
  });

  timeline.marks.forEach((mark, k) => {
    const at = x(mark.at);
    const labelY = TOP - 22 - (k % 2) * 14; // staggered: a SIGCONT soon after its SIGSTOP stays readable
    const color = mark.kind === 'resume' ? '#2ca02c' : mark.kind === 'stop' ? '#555' : RECOVERY_COLOR;
    const label = { kill: 'SIGKILL', pause: 'SIGSTOP', resume: 'SIGCONT', stop: 'graceful stop' }[mark.kind];
    svg.push(
      `<g class="fault" data-kind="${mark.kind}"><line x1="${at}" y1="${TOP - 4}" x2="${at}" y2="${height - 20}" stroke="${color}" stroke-width="2" stroke-dasharray="6 3"/><text x="${at + 4}" y="${labelY}" fill="${color}" font-weight="bold">${esc(`${label} ${mark.conductor}`)}</text></g>`,
    );
  });
  svg.push('</svg>');

  const legend = [
    ...input.conductors.map((c) => [holderColor(c), c] as const),
    [RECOVERY_COLOR, 'recovery manager (lease) / recovery (◆)'] as const,
  ]
    .map(([color, name]) => `<span><i style="background:${color}"></i>${esc(name)}</span>`)
    .join('');
  const states = ['available', 'active', 'manageable', 'deploying', 'wait call-back', 'deploy failed']
    .map((s) => `<span><i style="background:${stateFill(s as ProvisionStateValue)}"></i>${s}</span>`)
    .join('');
  const rows = input.summaryRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  const failures = input.failures.length ? `<ul class="failures">${input.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222}
h1{font-size:18px}
.legend span{margin-right:16px;font-size:12px;white-space:nowrap}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
table{border-collapse:collapse;margin-top:16px;font-size:13px}
th{text-align:left;padding:3px 12px 3px 0;font-weight:normal;color:#555}
.failures{color:#b00}
</style></head><body>
<h1>${esc(input.title)}</h1>
<p class="legend">holders (thin bar): ${legend}</p>
<p class="legend">states (wide bar): ${states} · ✕ a write refused by the fence</p>
${svg.join('\n')}
<table>${rows}</table>
${failures}
</body></html>
`;
}
