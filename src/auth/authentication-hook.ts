import type { FastifyRequest } from 'fastify';
import { NotFoundError } from '../errors/hub-error';
import { Authenticator } from './authenticator';
import { Principal } from './principal';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set by @Public() (and for /docs): the route answers without a credential. */
    hubPublic?: boolean;
  }
  interface FastifyRequest {
    /** Who is calling, set by the onRequest hook before the body is read; null on public routes. */
    principal: Principal | null;
  }
}

export const isPublicRoute = (request: FastifyRequest): boolean =>
  request.routeOptions.config.hubPublic === true;

/**
 * onRequest: a request for no route is answered 404 at once, whoever sends it (the routes are
 * public in /docs/json anyway), so its body is never read.
 */
export const refuseUnknownRoute = async (request: FastifyRequest): Promise<void> => {
  if (request.is404)
    throw new NotFoundError('ROUTE_NOT_FOUND', `No route matches ${request.method} ${request.url}`);
};

/**
 * onRequest: credentials are checked before Fastify reads a byte of the body, so an
 * unauthenticated client cannot make the hub buffer and parse one. The AuthGuard takes the
 * principal from the request and checks roles.
 */
export const authenticateBeforeBody =
  (authenticator: Authenticator) =>
  async (request: FastifyRequest): Promise<void> => {
    if (isPublicRoute(request)) return;
    request.principal = await authenticator.authenticate(request.headers.authorization);
  };
