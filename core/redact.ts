/**
 * Host secrets kept out of what leaves the host: a worker type's env values and
 * its interpreter path, wherever they turn up in text Kiln stores for views (a
 * worker's stderr tail, an exit message, a type's waiting reason). The host's
 * own folders are shown by name (`$KILN_STATE_DIR`, `$KILN_ROOT`).
 */

export const REDACTED = '[redacted]';

/** Values this short are not treated as secrets ("1", "true", "cuda"): redacting them would garble text. */
const MIN_SECRET_LENGTH = 6;

/** The strings of a type's config that must not leave its host. */
export function hostSecrets(cfg: { env?: Readonly<Record<string, string>> | undefined; python?: string | undefined }): string[] {
  const out = Object.values(cfg.env ?? {}).filter((v) => v.length >= MIN_SECRET_LENGTH);
  // an interpreter path, not a bare command name such as python3
  if (cfg.python?.includes('/')) out.push(cfg.python);
  // longest first, so a secret that contains another is replaced whole
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/**
 * Redacts a type's secrets and writes the host's own folders by name: each
 * `[path, name]` of `folders` (e.g. the state folder as `$KILN_STATE_DIR`), the
 * longest path first, so a folder inside another keeps its own name.
 */
export function hostScrubber(secrets: readonly string[], folders: readonly (readonly [string, string])[]): (text: string) => string {
  const named = folders.filter(([path]) => path.length > 1).sort((a, b) => b[0].length - a[0].length);
  return (text) => {
    let out = redact(text, secrets);
    for (const [path, name] of named) if (out.includes(path)) out = out.split(path).join(name);
    return out;
  };
}

/** A job error with its text fields redacted (message, traceback, stderr tail). */
export function redactError<E extends { message: string; traceback?: string | undefined; stderr_tail?: string[] | undefined }>(error: E, secrets: readonly string[]): E {
  if (secrets.length === 0) return error;
  return {
    ...error,
    message: redact(error.message, secrets),
    ...(error.traceback !== undefined && { traceback: redact(error.traceback, secrets) }),
    ...(error.stderr_tail !== undefined && { stderr_tail: error.stderr_tail.map((l) => redact(l, secrets)) }),
  };
}
