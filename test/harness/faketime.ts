// libfaketime (Debian package `faketime`) for a redis-server whose wall clock a test moves: the offset is read from a
// file on every clock call (FAKETIME_NO_CACHE), so writing the file jumps the server's clock at once. Only the wall
// clock moves (FAKETIME_DONT_FAKE_MONOTONIC): it is what Redis expires keys and answers TIME by, as an NTP step would.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The file name of the clock offset in a server's directory. */
export const FAKETIME_FILE = 'faketime';

/**
 * The preload libraries for a redis-server under libfaketime: libfaketime, then glibc. Debian's redis-server is
 * linked with jemalloc, which libfaketime cannot start with (both call each other while initialising: libfaketime
 * issue #130, the server hangs or crashes at start); glibc preloaded after libfaketime gives the server glibc's malloc
 * instead, and then both behave. Throws, with the install command, when libfaketime is missing.
 */
export function faketimePreload(): string {
  const candidates = [
    ...['/usr/lib', '/lib'].flatMap((root) => {
      try {
        return readdirSync(root).map((arch) => join(root, arch, 'faketime', 'libfaketime.so.1'));
      } catch {
        return [];
      }
    }),
    '/usr/lib/faketime/libfaketime.so.1',
  ];
  const library = candidates.find((path) => existsSync(path));
  if (!library) {
    throw new Error('libfaketime was not found (/usr/lib/<arch>/faketime/libfaketime.so.1): install it with `apt-get install -y faketime`.');
  }
  const libc = [join(dirname(dirname(library)), 'libc.so.6'), '/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'].find((path) => existsSync(path));
  if (!libc) throw new Error(`glibc (libc.so.6) was not found next to ${library}: redis-server cannot run under libfaketime without it.`);
  return `${library}:${libc}`;
}

/** The environment of a redis-server whose clock offset is read from `file` (created with no offset). */
export function faketimeEnv(file: string): NodeJS.ProcessEnv {
  writeClockOffset(file, 0);
  return {
    ...process.env,
    LD_PRELOAD: faketimePreload(),
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_NO_CACHE: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

/** Sets the server's clock to run `offsetMs` ahead of the real one (a relative offset, in libfaketime's seconds). */
export function writeClockOffset(file: string, offsetMs: number): void {
  writeFileSync(file, `${offsetMs >= 0 ? '+' : '-'}${(Math.abs(offsetMs) / 1000).toFixed(3)}\n`);
}
