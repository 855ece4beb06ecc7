import type { RequestBodyObject } from '@nestjs/swagger';
import { InvalidInputError } from '../errors/hub-error';
import { MAX_BULK_ROWS } from './bulk-enrolment';

/** A bulk enrolment body may be this large: 100,000 ids of up to 128 characters, quoted. */
export const BULK_BODY_LIMIT_BYTES = 16 * 1024 * 1024;
export const BULK_ENROLMENT_ROUTE = /\/v1\/batches\/[^/]+\/enrolments\/bulk$/;

const USER_IDS = {
  type: 'array',
  items: { type: 'string' },
  minItems: 1,
  maxItems: MAX_BULK_ROWS,
} as const;

/** The bulk enrolment body as the OpenAPI document describes it: JSON or a CSV upload. */
export const BULK_ENROLMENT_BODY: RequestBodyObject = {
  required: true,
  content: {
    'application/json': {
      schema: {
        oneOf: [
          {
            type: 'object',
            required: ['userIds'],
            properties: { userIds: USER_IDS },
            additionalProperties: false,
          },
          { ...USER_IDS, description: 'The user ids as a bare array' },
        ],
      },
      example: { userIds: ['lea', 'ravi'] },
    },
    'text/csv': {
      schema: {
        type: 'string',
        description:
          'One user id a line, in the first column; an optional first line `userId` (or user_id); blank lines skipped',
      },
      example: 'userId\nlea\nravi\n',
    },
    'text/plain': {
      schema: { type: 'string', description: 'As text/csv' },
    },
  },
};

const refuse = (message: string) =>
  new InvalidInputError(message, [{ field: 'body', message }], 'INVALID_BULK_REQUEST');

/** A CSV of user ids: the first column, an optional `userId` header, blank lines skipped. */
const fromCsv = (text: string): string[] => {
  const lines = text.split(/\r?\n/);
  const cells = lines.map((line) => {
    const first = line.split(',')[0] ?? '';
    return first.trim().replace(/^"(.*)"$/, '$1');
  });
  const header = cells[0]?.toLowerCase();
  if (header === 'userid' || header === 'user_id' || header === 'user id') cells.shift();
  return cells.filter((cell) => cell.length > 0);
};

/**
 * The user ids of a bulk enrolment: JSON `{"userIds": [...]}` (or a bare array) or a CSV upload.
 * Malformed bodies are refused whole; individual ids are checked per row by the job.
 */
export const parseBulkUserIds = (body: unknown, contentType: string | undefined): string[] => {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let userIds: unknown;
  if (type === 'text/csv' || type === 'text/plain') {
    if (typeof body !== 'string') throw refuse('Send the CSV as the request body');
    userIds = fromCsv(body);
  } else if (Array.isArray(body)) userIds = body;
  else if (body !== null && typeof body === 'object') {
    const keys = Object.keys(body);
    if (keys.length !== 1 || keys[0] !== 'userIds')
      throw refuse('The body must be {"userIds": [...]} with nothing else');
    userIds = (body as { userIds: unknown }).userIds;
  } else throw refuse('Send {"userIds": [...]} as JSON or a CSV of user ids as text/csv');
  if (!Array.isArray(userIds) || !userIds.every((id) => typeof id === 'string'))
    throw refuse('userIds must be an array of strings');
  if (userIds.length === 0) throw refuse('There are no user ids to enrol');
  if (userIds.length > MAX_BULK_ROWS)
    throw refuse(`At most ${MAX_BULK_ROWS.toLocaleString('en-US')} users per request`);
  return userIds;
};
