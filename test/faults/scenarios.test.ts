// Every fault scenario in short mode: the guarantees of DESIGN.md section 2, and each scenario's own promises, must
// hold under each fault. The long mode is `npm run soak`, which writes RELIABILITY.md.
import { describe, expect, it } from 'vitest';
import { runScenario } from './scenario.js';
import { SCENARIOS, violations } from './scenarios.js';

/** Short mode: 4 s of work, or longer where the fault needs it (a Cluster failover of each master, the storm). */
const SHORT_RUN_MS = 4_000;

describe.each(SCENARIOS)('fault: $name', (scenario) => {
  const runMs = Math.max(SHORT_RUN_MS, scenario.minRunMs ?? 0);
  it('holds every guarantee', async () => {
    const result = await runScenario(scenario, runMs);
    const { broken, known } = violations(scenario, result);
    const summary = JSON.stringify({ ...result, details: undefined });
    if (known.length > 0) console.warn(`${scenario.name}: known bug (${scenario.knownBug!.description}):\n${known.join('\n')}`);
    expect(broken, summary).toEqual([]);
    expect(result).toMatchObject({ fencesNotGrowing: 0, staleWritesAccepted: 0, orphansRecoveredTwice: 0, leasesLeft: 0, leasesUnaccounted: 0, stuckNodes: 0 });
    if (!scenario.knownBug) expect(result.orphansNeverRecovered).toBe(0);
    if (!scenario.overlapAllowed) expect(result.overlaps).toBe(0);
  }, 90_000 + 3 * runMs);
});
