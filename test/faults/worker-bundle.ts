// The fault worker (worker.ts and the sources it imports) bundled once per process into one ESM file that plain
// `node` runs: a worker then starts in about 0.15 s of CPU instead of about 0.5 s under tsx, which is what lets 50 of
// them start within seconds on two cores (the contention storm). Packages (ioredis, eventemitter3) stay imports,
// resolved from node_modules, so the file lives in the repository's git-ignored .tmp/.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'tsup';

const root = resolve(import.meta.dirname, '../..');
let bundled: Promise<string> | null = null;

/** The path of the bundled worker, built on first use and removed when this process exits. */
export function workerScript(): Promise<string> {
  bundled ??= (async () => {
    removeStale();
    const outDir = resolve(root, '.tmp', `faults-worker-${process.pid}`);
    mkdirSync(outDir, { recursive: true });
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    await build({
      config: false,
      entry: { worker: resolve(root, 'test/faults/worker.ts') },
      format: ['esm'],
      platform: 'node',
      target: 'node20',
      outDir,
      outExtension: () => ({ js: '.mjs' }),
      loader: { '.lua': 'text' },
      // Every package stays an import (tsup already keeps dependencies and peer dependencies out).
      external: [/^[^./]/],
      splitting: false,
      sourcemap: false,
      dts: false,
      clean: false,
      silent: true,
    });
    return resolve(outDir, 'worker.mjs');
  })();
  return bundled;
}

/** Removes bundles left by processes that died without their exit handler (a test runner's worker killed, say). */
function removeStale(): void {
  let names: string[] = [];
  try {
    names = readdirSync(resolve(root, '.tmp'));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^faults-worker-(\d+)$/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0); // still running: its bundle is in use
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(resolve(root, '.tmp', name), { recursive: true, force: true });
    }
  }
}
