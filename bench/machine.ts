// The machine and software a run measured: printed at the top of BENCHMARKS.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly redisServer: string;
  /** Package name -> installed version. */
  readonly packages: ReadonlyMap<string, string>;
  readonly date: string;
  /** 1-minute load average when the run started (other processes share the machine). */
  readonly loadAtStart: number;
}

const PACKAGES = ['leasehold', 'ioredis', 'redis-semaphore', 'redlock', '@sesamecare-oss/redlock'] as const;

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line?.split(':').slice(1).join(':').trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function redisServerVersion(): string {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    return /v=(\S+)/.exec(out)?.[1] ?? out.trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  const root = new URL('../', import.meta.url);
  const file = name === 'leasehold' ? new URL('package.json', root) : new URL(`node_modules/${name}/package.json`, root);
  try {
    const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: string };
    return (version ?? 'unknown').replace(/^v/, '');
  } catch {
    return 'not installed';
  }
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpuModel(),
    cores: availableParallelism(),
    node: process.version,
    redisServer: redisServerVersion(),
    packages: new Map(PACKAGES.map((name) => [name, packageVersion(name)])),
    date: new Date().toISOString(),
    loadAtStart: loadavg()[0] ?? 0,
  };
}

/** The 1-minute load average now. */
export function loadNow(): number {
  return loadavg()[0] ?? 0;
}
