import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ConductorRecord } from './registry.js';

/** Where this process runs: host, pid, and what tells this host and its pids apart (Linux; '' where unknown). */
export interface Incarnation {
  readonly hostname: string;
  readonly pid: number;
  /** Changes at every boot of the host. */
  readonly bootId: string;
  /** The host's machine id (`/etc/machine-id`): tells apart two hosts of one hostname. */
  readonly machineId: string;
  /** The pid namespace the pid belongs to (`/proc/self/ns/pid`): a container has its own. */
  readonly pidNamespace: string;
}

/** This process's incarnation. */
export function thisIncarnation(): Incarnation {
  return {
    hostname: hostname(),
    pid: process.pid,
    bootId: attempt(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
    machineId: attempt(() => readFileSync('/etc/machine-id', 'utf8').trim()),
    pidNamespace: attempt(() => readlinkSync('/proc/self/ns/pid')),
  };
}

function attempt(read: () => string): string {
  try {
    return read();
  } catch {
    return '';
  }
}

/**
 * Whether a registered incarnation is certainly dead, judged from this host: it ran here (same hostname, and the
 * same machine id where both are known), and either the host rebooted since (another boot id) or its pid, in this
 * process's pid namespace, no longer exists. Anything it cannot be sure of is not dead: a conductor of another host
 * (two hosts may share a hostname), one in another pid namespace (a container), and this very process. Its liveness
 * lease decides then. Records of older versions carry no machine id or pid namespace: judged without them.
 */
export function isDeadHere(
  record: Pick<ConductorRecord, 'hostname' | 'pid' | 'bootId'> & Partial<Pick<ConductorRecord, 'machineId' | 'pidNamespace'>>,
  self: Incarnation,
): boolean {
  if (record.hostname !== self.hostname) return false;
  if (record.machineId && self.machineId && record.machineId !== self.machineId) return false;
  if (record.bootId && self.bootId && record.bootId !== self.bootId) return true;
  if (record.pidNamespace && self.pidNamespace && record.pidNamespace !== self.pidNamespace) return false;
  if (record.pid === self.pid) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
