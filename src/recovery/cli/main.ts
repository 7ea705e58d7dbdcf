#!/usr/bin/env node
/**
 * The `leasehold` command: `status`, `recover <node...>`, `watch`. Parses the command line, opens what the
 * command needs, runs it, and exits with the code it stands for (see `leasehold --help` and {@link EXIT}).
 *
 * @packageDocumentation
 */
import { parseCli, type CliArgs } from './args.js';
import { EXIT, errorCodeOf, exitCodeOf, type ExitCode } from './exit-codes.js';
import { HELP } from './help.js';
import { Output } from './output.js';
import { runRecover } from './recover.js';
import { Secrets } from './redact.js';
import { openSession, type Session } from './session.js';
import { runStatus } from './status.js';
import { runWatch } from './watch.js';

/** How long the process may linger after its command is done (a socket that won't close) before it exits anyway. */
const EXIT_GRACE_MS = 3_000;

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. Never rejects. */
async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  const secrets = new Secrets();
  // Secrets first: even a usage error must never print a password given on the command line.
  const withUrls = ['--redis', '--pg', '--quorum', '--sentinel'];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (withUrls.includes(arg)) secrets.addUrls(argv[i + 1] ?? '');
    else if (withUrls.some((option) => arg.startsWith(`${option}=`))) secrets.addUrls(arg.slice(arg.indexOf('=') + 1));
  }
  if (env.REDIS_URL) secrets.addUrls(env.REDIS_URL);
  const json = argv.includes('--json');
  let output = new Output(secrets, json);
  let args: CliArgs;
  try {
    args = parseCli(argv, env);
  } catch (error) {
    return fail(output, error, 'leasehold --help lists the commands and options.');
  }
  output = new Output(secrets, args.json);
  if (args.command === 'help') {
    output.out(HELP.trimEnd());
    return EXIT.ok;
  }
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  let session: Session | undefined;
  try {
    session = await openSession(args, output);
    switch (args.command) {
      case 'status':
        return await runStatus(args, session, output);
      case 'recover':
        return await runRecover(args, session, output);
      case 'watch':
        process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
        return await runWatch(args, session, output, stop.signal);
      default:
        return args.command satisfies never;
    }
  } catch (error) {
    return fail(output, error);
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await session?.close().catch(() => undefined);
  }
}

/** Prints an error (text on stderr, or one JSON document on stdout with `--json`) and returns its exit code. */
function fail(output: Output, error: unknown, hint?: string): ExitCode {
  const exitCode = exitCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (output.json) {
    output.data({ error: { code: errorCodeOf(error), message }, exitCode });
  } else {
    output.err(`leasehold: ${message}`);
    if (hint && exitCode === EXIT.usage) output.err(hint);
    if (exitCode === EXIT.unexpected && error instanceof Error && error.stack) output.err(error.stack);
  }
  return exitCode;
}

// Output piped into a reader that quit (`leasehold status | head`): stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
  });
}

void main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
});
