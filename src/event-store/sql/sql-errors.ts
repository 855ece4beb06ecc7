import { HubError, InvalidInputError, StoreUnavailableError } from '../../errors/hub-error';

/** Maps driver errors to the hub taxonomy; hub errors pass through untouched. */
export const mapSqlError = (error: unknown): Error => {
  if (error instanceof HubError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string') {
    // Class 22: data exceptions, i.e. a value the client sent that PostgreSQL cannot store.
    if (code.startsWith('22'))
      return new InvalidInputError(`The database refused a value: ${message}`, [], 'INVALID_VALUE');
    // Class 08 (connection), 57P (operator intervention, e.g. shutdown), 53 (resources).
    if (code.startsWith('08') || code.startsWith('57P') || code.startsWith('53'))
      return new StoreUnavailableError(`The database is unavailable: ${message}`, error);
  }
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE'].includes(code)
  )
    return new StoreUnavailableError(`The database is unreachable: ${message}`, error);
  if (
    /Connection terminated|timeout exceeded when trying to connect|Client was closed|Cannot use a pool after calling end/i.test(
      message,
    )
  )
    return new StoreUnavailableError(`The database is unreachable: ${message}`, error);
  return error instanceof Error ? error : new Error(message);
};
