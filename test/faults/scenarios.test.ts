// Every fault scenario in short mode: the guarantees of DESIGN.md section 2 must hold under each fault. The long
// mode is `npm run soak`, which writes RELIABILITY.md.
import { describe, expect, it } from 'vitest';
import { runScenario } from './scenario.js';
import { SCENARIOS } from './scenarios.js';

describe.each(SCENARIOS)('fault: $name', (scenario) => {
  it('holds every guarantee', async () => {
    const result = await runScenario(scenario, 4_000);
    const summary = { ...result, details: undefined };
    const details = scenario.overlapAllowed ? result.details.filter((d) => !d.startsWith('overlap on ')) : result.details;
    expect(details, JSON.stringify(summary)).toEqual([]);
    expect(result).toMatchObject({ fencesNotGrowing: 0, staleWritesAccepted: 0, orphansRecoveredTwice: 0, orphansNeverRecovered: 0, leasesLeft: 0, stuckNodes: 0 });
    if (!scenario.overlapAllowed) expect(result.overlaps).toBe(0);
    expect(result.acquisitions).toBeGreaterThan(5);
    if (scenario.expectRecovery) expect(result.orphansRecoveredOnce).toBeGreaterThan(0);
  }, 60_000);
});
