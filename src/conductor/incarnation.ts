import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConductorRecord } from './registry.js';

/** Where this process runs: host, pid and boot id. */
export interface Incarnation {
  readonly hostname: string;
  readonly pid: number;
  readonly bootId: string;
}

/** This process's incarnation. */
export function thisIncarnation(): Incarnation {
  return { hostname: hostname(), pid: process.pid, bootId: bootId() };
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Whether a registered incarnation is certainly dead, judged from this host: it ran here (same hostname), and
 * either the host rebooted since (another boot id) or its pid no longer exists. A conductor registered on another
 * host is never declared dead this way (its liveness lease decides), nor is this very process.
 */
export function isDeadHere(record: Pick<ConductorRecord, 'hostname' | 'pid' | 'bootId'>, self: Incarnation): boolean {
  if (record.hostname !== self.hostname) return false;
  if (record.bootId && self.bootId && record.bootId !== self.bootId) return true;
  if (record.pid === self.pid) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
