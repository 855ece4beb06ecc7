/** LOG_LEVEL=debug (or trace) asks for stack traces; any other level gets the message alone. */
export const wantsStackTraces = (env: Record<string, string | undefined> = process.env): boolean =>
  ['debug', 'trace'].includes(env.LOG_LEVEL?.trim().toLowerCase() ?? '');

/**
 * What a person reads when a command or the hub's start fails: the message, with its cause's
 * (`Could not reach the hub at …: connect ECONNREFUSED …`); the stack trace only when asked for.
 */
export const describeFailure = (
  error: unknown,
  env: Record<string, string | undefined> = process.env,
): string => {
  if (!(error instanceof Error)) return String(error);
  if (wantsStackTraces(env))
    return error.cause instanceof Error
      ? `${error.stack}\nCaused by: ${error.cause.stack ?? causeText(error.cause)}`
      : (error.stack ?? error.message);
  const cause = error.cause instanceof Error ? causeText(error.cause) : '';
  return cause ? `${error.message}: ${cause}` : error.message;
};

// Some causes carry only a code (an AggregateError of connection attempts has no message).
const causeText = (cause: Error): string => {
  const { code } = cause as { code?: unknown };
  return cause.message || (typeof code === 'string' ? code : cause.name);
};
