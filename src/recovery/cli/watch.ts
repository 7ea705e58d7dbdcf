import { setTimeout as sleep } from 'node:timers/promises';
import { RedisEventLog, type LogEntry } from '../event-log.js';
import type { CliArgs } from './args.js';
import { EXIT, isConnectionError, type ExitCode } from './exit-codes.js';
import { entryJson, eventLine } from './format.js';
import type { Output } from './output.js';
import type { Session } from './session.js';

/** How long one blocking read waits for events, ms. A stop request ends it at once. */
const BLOCK_MS = 10_000;

/** Consecutive failed reads (one a second) before `watch` gives up on Redis. */
const MAX_FAILURES = 30;

/**
 * `leasehold watch`: follows the `recovery-events` stream with blocking reads on a connection of its own and
 * prints one line per event (one JSON object per line with `--json`), until `stop` aborts (Ctrl-C, SIGTERM):
 * then it exits 0.
 */
export async function runWatch(args: CliArgs, session: Session, output: Output, stop: AbortSignal): Promise<ExitCode> {
  const { redis, prefix } = session;
  const log = new RedisEventLog(redis, 'recovery-events', { prefix });
  const print = (entry: LogEntry): void => (args.json ? output.data(entryJson(entry)) : output.out(eventLine(entry)));
  // Start from the stream's last entry now, so no event appended after the "watching" line is missed.
  const last = await log.tail(Math.max(1, args.tail));
  if (args.tail > 0) for (const entry of last) print(entry);
  let after = last.at(-1)?.id ?? '0-0';

  const reader = redis.duplicate(); // a blocked read holds its connection
  reader.on('error', () => undefined); // failures surface as failed reads
  const readerLog = new RedisEventLog(reader, 'recovery-events', { prefix });
  const onStop = (): void => reader.disconnect(); // ends a blocked read at once
  stop.addEventListener('abort', onStop, { once: true });
  output.err(`Watching ${log.key} on ${session.where} (Ctrl-C to stop).`);
  let failures = 0;
  try {
    while (!stop.aborted) {
      let entries: LogEntry[];
      try {
        entries = await readerLog.read(after, BLOCK_MS);
        failures = 0;
      } catch (error) {
        if (stop.aborted) break;
        failures++;
        const message = error instanceof Error ? error.message : String(error);
        if (failures > MAX_FAILURES) {
          output.err(`Giving up: reading ${log.key} failed ${MAX_FAILURES} times in a row: ${message}`);
          return isConnectionError(error) ? EXIT.unreachable : EXIT.unexpected;
        }
        if (failures === 1) output.err(`Reading ${log.key} failed (${message}); retrying every second.`);
        await sleep(1_000, undefined, { signal: stop }).catch(() => undefined);
        continue;
      }
      for (const entry of entries) print(entry);
      after = entries.at(-1)?.id ?? after;
    }
    return EXIT.ok;
  } finally {
    stop.removeEventListener('abort', onStop);
    reader.disconnect();
  }
}
