import type { FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route of the Swagger UI or the OpenAPI document: public, with the docs' CSP. */
    hubDocs?: boolean;
  }
}

export const DOCS_PATH = '/docs';

/**
 * Every answer of the API is JSON or CSV: nothing in it may run, load, be framed or be sniffed
 * into HTML. (Helmet also sets HSTS, which browsers honour over HTTPS only, a referrer policy of
 * no-referrer and same-origin cross-origin policies.)
 */
export const API_HELMET: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
};

/**
 * The Swagger UI page (@nestjs/swagger) loads its scripts, styles and icons from /docs, reads the
 * document from /docs/json and calls the API on the same origin; it has no inline script, only
 * inline styles (its page's <style> blocks and style attributes).
 */
const DOCS_HELMET: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
    },
  },
};

const isDocsRoute = (url: string): boolean => url === DOCS_PATH || url.startsWith(`${DOCS_PATH}/`);

/** onRoute: the documentation is public and gets its own CSP. */
export const markDocsRoute = (route: RouteOptions): void => {
  if (!isDocsRoute(route.url)) return;
  // `helmet` in the route config is where @fastify/helmet looks for a route's own options.
  const helmetConfig = { helmet: DOCS_HELMET } as RouteOptions['config'];
  route.config = { ...route.config, ...helmetConfig, hubPublic: true, hubDocs: true };
};

/**
 * onSend: no answer of the API may be kept by a browser or a shared cache. Some carry secrets
 * (a new API key's token, a webhook secret), most carry personal data or live state, and a
 * blanket rule cannot be forgotten by the next endpoint that returns a secret. Only the
 * documentation, the same for everyone, keeps its own caching.
 */
export const forbidCaching = async (
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> => {
  if (request.routeOptions.config.hubDocs !== true) void reply.header('cache-control', 'no-store');
};
