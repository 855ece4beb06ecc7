import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../errors/hub-error';
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

const TEXT_MEDIA_TYPES: readonly string[] = ['text/csv', 'text/plain'];

const mediaTypeOf = (request: FastifyRequest): string =>
  (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * The only bodies the hub reads: JSON, and text for CSV uploads on `textRoutes` (route
 * patterns); anything else is 415, text on any other route too, refused before a byte of it is
 * read. Fastify reads bodies as bytes within the route's body limit (refused at once by
 * Content-Length, or as soon as the bytes streamed pass it), then these check them before any
 * handler runs.
 */
export const registerBodyParsers = (
  fastify: FastifyInstance,
  textRoutes: readonly RegExp[],
): void => {
  fastify.addHook('preParsing', async (request) => {
    if (request.method === 'GET' || request.method === 'HEAD') return;
    const mediaType = mediaTypeOf(request);
    if (!TEXT_MEDIA_TYPES.includes(mediaType)) return;
    const route = request.routeOptions.url;
    if (route !== undefined && textRoutes.some((pattern) => pattern.test(route))) return;
    throw new HubError(
      'unsupported_media_type',
      'UNSUPPORTED_MEDIA_TYPE',
      `This route reads application/json bodies, not ${mediaType}`,
    );
  });
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
