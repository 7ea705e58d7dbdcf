/**
 * Passwords in URLs are never printed: URLs are shown redacted, and every line the CLI writes is scrubbed of the
 * secrets it was given, in case a library echoes them in an error message.
 *
 * @packageDocumentation
 */

/** What a password is replaced with. */
const MASK = '***';

/** Passwords shorter than this are only redacted inside URLs: scrubbing them from free text would mangle it. */
const MIN_SCRUB_LENGTH = 4;

/** `url` with its password (if any) replaced by `***`; an unparsable URL loses everything before an `@`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = MASK;
    return parsed.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/]*@/i, (_all, scheme: string | undefined) => `${scheme ?? ''}${MASK}@`);
  }
}

/** The secrets the CLI was given, and the scrubbing of any text it prints. */
export class Secrets {
  readonly #replacements = new Map<string, string>();

  /** Remembers the password of `url` (and the URL itself, to be shown redacted). */
  addUrl(url: string): void {
    const redacted = redactUrl(url);
    if (redacted !== url) this.#replacements.set(url, redacted);
    let password = '';
    try {
      password = new URL(url).password;
    } catch {
      password = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:([^@/]*)@/i.exec(url)?.[1] ?? '';
    }
    for (const form of new Set([password, safeDecode(password)])) {
      if (form.length >= MIN_SCRUB_LENGTH) this.#replacements.set(form, MASK);
    }
  }

  /** Remembers the passwords of a comma-separated list of URLs (`--redis` with `--cluster`, `--quorum`), and of the list. */
  addUrls(text: string): void {
    for (const url of new Set([text, ...text.split(/,(?=\s*rediss?:\/\/)/i).map((u) => u.trim())])) this.addUrl(url);
  }

  /** `text` with every known secret replaced (whole URLs first, then bare passwords). */
  scrub(text: string): string {
    let out = text;
    const longestFirst = [...this.#replacements].sort(([a], [b]) => b.length - a.length);
    for (const [secret, replacement] of longestFirst) out = out.split(secret).join(replacement);
    return out;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
