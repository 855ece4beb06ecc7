/**
 * The hub's one error taxonomy. Domain and infrastructure code throw these; the problem-details
 * filter maps the kind to an HTTP status. A `code` is stable: clients may branch on it.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rule_violated'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'internal';

export interface FieldIssue {
  field: string;
  message: string;
}

export class HubError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidInputError extends HubError {
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
    code = 'invalid_input',
  ) {
    super('invalid_input', code, message, issues.length ? { issues } : {});
  }
}

export class NotFoundError extends HubError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('not_found', code, message, details);
  }
}

/** A business rule refused the command (the state does not allow it). */
export class RuleViolatedError extends HubError {
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super('rule_violated', code, message, details);
  }
}

export class WrongExpectedRevisionError extends HubError {
  constructor(
    readonly stream: string,
    readonly expected: string,
    readonly actual: bigint | null,
  ) {
    super(
      'conflict',
      'wrong_expected_revision',
      `Stream "${stream}" is at revision ${actual === null ? 'none (no stream)' : actual.toString()}, expected ${expected}`,
      { stream, expected, actual: actual === null ? null : actual.toString() },
    );
  }
}

export class StoreUnavailableError extends HubError {
  constructor(message: string, cause?: unknown) {
    super('unavailable', 'store_unavailable', message, {}, { cause });
  }
}

export const expectedRevisionLabel = (
  expected: 'no_stream' | 'stream_exists' | 'any' | bigint,
): string => (typeof expected === 'bigint' ? expected.toString() : expected);
