import type { Secrets } from './redact.js';

/** Where the CLI writes: stdout for results, stderr for errors and notices, each line scrubbed of secrets. */
export class Output {
  constructor(
    readonly secrets: Secrets,
    /** Whether results are JSON (`--json`). */
    readonly json: boolean,
    readonly stdout: NodeJS.WritableStream = process.stdout,
    readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** Writes a line of results to stdout. */
  out(line = ''): void {
    this.stdout.write(`${this.secrets.scrub(line)}\n`);
  }

  /** Writes a line to stderr (errors, notices). */
  err(line: string): void {
    this.stderr.write(`${this.secrets.scrub(line)}\n`);
  }

  /** Writes one JSON document (or one JSON line) to stdout. */
  data(value: unknown): void {
    this.out(JSON.stringify(value));
  }
}
