// Database URLs carry passwords (`postgres://user:secret@host/db`). Any URL that reaches an error message or a log
// line goes through here first, so the password never does.

const URL_WITH_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'`]*):([^\s/?#"'`]*)@/gi;

/** The URL with its password (if any) replaced by `****`; the rest is kept so the message still says where. */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/** The text with the password of every `scheme://user:password@…` URL in it replaced by `****`. */
export function redactSecrets(text: string): string {
  // Also `?password=…` query parameters, which libpq-style URLs accept.
  return text.replace(URL_WITH_CREDENTIALS, '$1$2:****@').replace(/([?&]password=)[^&\s"'`]*/gi, '$1****');
}

/** An error whose message, stack or properties mention a URL: the same error with the password redacted in place. */
export function redactError<E>(err: E, depth = 0): E {
  if (!(err instanceof Error) || depth > 3) return err;
  for (const key of ['message', 'stack', ...Object.keys(err)]) {
    const value = (err as unknown as Record<string, unknown>)[key];
    if (typeof value !== 'string') continue;
    const clean = redactSecrets(value);
    if (clean === value) continue;
    const enumerable = Object.getOwnPropertyDescriptor(err, key)?.enumerable ?? false;
    Object.defineProperty(err, key, { value: clean, writable: true, configurable: true, enumerable });
  }
  if (err.cause !== undefined) redactError(err.cause, depth + 1);
  return err;
}
