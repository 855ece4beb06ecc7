import type { FastifyInstance } from 'fastify';
import { parseJsonBody } from './json-body';
import { decodeUtf8Body, invalidText, unstorableCharacter } from './storable-text';

/** A text body (a CSV of user ids): UTF-8, and storable on every line. */
export const parseTextBody = (bytes: Buffer): string => {
  const text = decodeUtf8Body(bytes);
  const what = unstorableCharacter(text);
  if (what) {
    const line = text.split(/\r?\n/).findIndex((row) => unstorableCharacter(row) !== null) + 1;
    throw invalidText('body', `line ${line}`, what);
  }
  return text;
};

/**
 * The only bodies the hub reads: JSON, and text for CSV uploads; anything else is 415. Fastify
 * reads them as bytes within the route's body limit (refused at once by Content-Length, or as
 * soon as the bytes streamed pass it), then these check them before any handler runs.
 */
export const registerBodyParsers = (fastify: FastifyInstance): void => {
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
  fastify.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'buffer' },
    (_request, body, done) => {
      try {
        done(null, parseTextBody(body as Buffer));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
};
