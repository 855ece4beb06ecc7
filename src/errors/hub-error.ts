import { ErrorCode } from './error-codes';

/**
 * The hub's one error taxonomy. Domain and infrastructure code throw these; the problem-details
 * filter maps the kind to an HTTP status. A `code` is stable: clients may branch on it.
 */
export type ErrorKind =
  | 'invalid_input'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'gone'
  | 'conflict'
  | 'precondition_failed'
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
    readonly code: ErrorCode,
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
    code: ErrorCode = 'INVALID_INPUT',
  ) {
    super('invalid_input', code, message, issues.length ? { issues } : {});
  }
}

export class NotFoundError extends HubError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super('not_found', code, message, details);
  }
}

/** A business rule refused the command (the state does not allow it). */
export class RuleViolatedError extends HubError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super('rule_violated', code, message, details);
  }
}

/** No credential, or one the hub does not accept. Says nothing about which part was wrong. */
export class UnauthenticatedError extends HubError {
  constructor(code: ErrorCode = 'UNAUTHENTICATED', message = 'A valid bearer token is required') {
    super('unauthenticated', code, message);
  }
}

/** A known principal asked for something its roles or ownership do not allow. */
export class ForbiddenError extends HubError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super('forbidden', code, message, details);
  }
}

export class ConflictError extends HubError {
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super('conflict', code, message, details);
  }
}

/** The client's If-Match revision is not the resource's current one. */
export class StaleRevisionError extends HubError {
  constructor(expected: bigint, actual: bigint | null) {
    super(
      'precondition_failed',
      'STALE_REVISION',
      `The resource is at revision ${actual === null ? 'none' : actual.toString()}, not ${expected.toString()}: read it again and retry`,
      { expectedRevision: expected.toString(), currentRevision: actual?.toString() ?? null },
    );
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
      'WRONG_EXPECTED_REVISION',
      `Stream "${stream}" is at revision ${actual === null ? 'none (no stream)' : actual.toString()}, expected ${expected}`,
      { stream, expected, actual: actual === null ? null : actual.toString() },
    );
  }
}

/**
 * A write was recorded, but the read model that answers for it has not applied it in time
 * (it is behind, or failing). Not a failure of the write: the client reads again later, at
 * `location` when there is one, rather than writing again.
 */
export class ViewBehindError extends HubError {
  constructor(readModel: string, location: string | null, retryAfterSeconds = 2) {
    super(
      'unavailable',
      'VIEW_BEHIND',
      `The change was recorded, but the ${readModel} read model does not show it yet: ${
        location === null ? 'read it again' : `read ${location}`
      } in a moment rather than sending it again`,
      { readModel, retryAfterSeconds, ...(location === null ? {} : { location }) },
    );
  }
}

export class StoreUnavailableError extends HubError {
  constructor(message: string, cause?: unknown) {
    super('unavailable', 'STORE_UNAVAILABLE', message, {}, { cause });
  }
}

export const expectedRevisionLabel = (
  expected: 'no_stream' | 'stream_exists' | 'any' | bigint,
): string => (typeof expected === 'bigint' ? expected.toString() : expected);
