// When may a starting conductor declare a registered incarnation of its id dead, and take its leases over at once?
// Only when it is certain: the same host (hostname and, where known, machine id) and a process it can see gone, or
// that host rebooted since. Real processes: a child that exited gives a pid that no longer exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDeadHere, thisIncarnation, type Incarnation } from '../../src/conductor/incarnation.js';

/** A pid that existed a moment ago and no longer does (a child that ran and was reaped). */
function gonePid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('isDeadHere', () => {
  const self: Incarnation = thisIncarnation();

  it('knows this host: hostname, boot id, machine id and pid namespace where Linux has them', () => {
    expect(self.pid).toBe(process.pid);
    expect(self.bootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(self.machineId).toBe(existsSync('/etc/machine-id') ? readFileSync('/etc/machine-id', 'utf8').trim() : '');
    expect(self.pidNamespace).toMatch(/^pid:\[\d+\]$/);
  });

  it('a process of this host that is gone is dead; a live one, or this very process, is not', () => {
    expect(isDeadHere({ ...self, pid: gonePid() }, self)).toBe(true);
    expect(isDeadHere({ ...self, pid: process.ppid }, self)).toBe(false);
    expect(isDeadHere(self, self)).toBe(false);
  });

  it('this host rebooted since (another boot id): dead, whatever its pid', () => {
    expect(isDeadHere({ ...self, bootId: '00000000-0000-4000-8000-000000000000', pid: process.pid }, self)).toBe(true);
  });

  it('another host is never judged: another hostname, or the same hostname on another machine (a cloned VM)', () => {
    expect(isDeadHere({ ...self, hostname: `${self.hostname}-other`, pid: gonePid() }, self)).toBe(false);
    const clone = { ...self, machineId: 'f'.repeat(32), bootId: '00000000-0000-4000-8000-000000000000' };
    expect(isDeadHere(clone, self)).toBe(false);
    expect(isDeadHere({ ...clone, pid: gonePid(), bootId: self.bootId }, self)).toBe(false);
  });

  it('a process in another pid namespace (a container sharing the hostname) cannot be seen, so is not judged', () => {
    expect(isDeadHere({ ...self, pidNamespace: 'pid:[1]', pid: gonePid() }, self)).toBe(false);
  });

  it('a record of an older version, without machine id or pid namespace, is judged by hostname, boot id and pid', () => {
    const old = { hostname: self.hostname, bootId: self.bootId, pid: gonePid() };
    expect(isDeadHere(old, self)).toBe(true);
    expect(isDeadHere({ ...old, bootId: '00000000-0000-4000-8000-000000000000', pid: process.pid }, self)).toBe(true);
  });
});
