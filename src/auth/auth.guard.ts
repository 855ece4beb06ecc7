import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, HubError } from '../errors/hub-error';
import { Authenticator } from './authenticator';
import { hasRole, Principal, Role } from './principal';

const PUBLIC = 'hub:public';
const REQUIRED_ROLES = 'hub:roles';

/**
 * Marks a handler's Fastify route public (`hubPublic` in its route config), which is what the
 * onRequest authentication hook reads: Nest copies only a handler's own metadata to its route,
 * so a class decorator marks every method.
 */
const markPublicRoute = (handler: object): void => {
  const config: unknown = Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler);
  Reflect.defineMetadata(
    FASTIFY_ROUTE_CONFIG_METADATA,
    { ...(config as object | undefined), hubPublic: true },
    handler,
  );
};

/** Opens an endpoint, or every endpoint of a controller, to callers without a credential. */
export const Public =
  (): ClassDecorator & MethodDecorator =>
  (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (key !== undefined && descriptor) {
      SetMetadata(PUBLIC, true)(target, key, descriptor);
      markPublicRoute(descriptor.value as object);
      return;
    }
    SetMetadata(PUBLIC, true)(target as () => void);
    // Only the class's own methods: an inherited one may serve other controllers too. (An
    // inherited handler of a public controller is then refused 401 by the hook: closed, not open.)
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method: unknown = Object.getOwnPropertyDescriptor(prototype, name)?.value;
      if (name !== 'constructor' && typeof method === 'function') markPublicRoute(method);
    }
  };

/** The caller needs at least one of these roles; finer ownership rules live in the deciders. */
export const RequireRoles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<FastifyRequest>().principal;
    // Only reachable if a route is both @Public and asks for a principal: a programming error.
    if (!principal) throw new HubError('internal', 'NO_PRINCIPAL', 'No principal on the request');
    return principal;
  },
);

/**
 * Every route needs a bearer credential unless marked @Public. The onRequest hook
 * (authentication-hook.ts) has already authenticated the caller before the body was read; the
 * guard reuses that principal (authenticating here only for an app built without the hook) and
 * checks roles, which need the handler's metadata.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal =
      request.principal ?? (await this.authenticator.authenticate(request.headers.authorization));
    request.principal = principal;
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (required?.length && !hasRole(principal, ...required))
      throw new ForbiddenError(
        'MISSING_ROLE',
        `This needs one of the roles ${required.join(', ')}`,
        { requiredRoles: required },
      );
    return true;
  }
}
