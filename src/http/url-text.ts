import type { FastifyRequest } from 'fastify';
import { HubError } from '../errors/hub-error';
import { invalidText, printable, unstorableCharacter } from './storable-text';

const malformedQuery = (raw: string): HubError => {
  const message = 'is not valid percent-encoded UTF-8';
  return new HubError(
    'invalid_input',
    'MALFORMED_URL',
    `The query string part "${raw}" ${message}`,
    {
      in: 'query',
      issues: [{ field: raw, message }],
    },
  );
};

/** One part of a query string, decoded as Fastify's parser decodes it, but refusing bad escapes. */
const decodeQueryPart = (part: string): string => {
  const spaced = part.includes('+') ? part.replace(/\+/g, ' ') : part;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw malformedQuery(part);
  }
};

/** The raw query string, found where the router finds it (the first `?` or `#`). */
const rawQuery = (url: string): string => {
  const start = url.search(/[?#]/);
  return start === -1 ? '' : url.slice(start + 1);
};

const checkQuery = (url: string): void => {
  const query = rawQuery(url);
  if (query.length === 0) return;
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    const name = decodeQueryPart(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decodeQueryPart(pair.slice(equals + 1));
    const what = unstorableCharacter(name) ?? unstorableCharacter(value);
    if (what) throw invalidText('query', printable(name), what);
  }
};

/**
 * onRequest: path parameters and query values are text that reaches the log and the read models
 * as much as bodies do. The router has decoded the path (a malformed escape there is its
 * FST_ERR_BAD_URL); Fastify's query parser keeps a malformed escape as it came, so the query is
 * checked from the raw URL, where one is a 400.
 */
export const checkUrlText = async (request: FastifyRequest): Promise<void> => {
  const params = (request.params ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(params)) {
    const what = typeof value === 'string' ? unstorableCharacter(value) : null;
    if (what) throw invalidText('path', name, what);
  }
  checkQuery(request.url);
};
