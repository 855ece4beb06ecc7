import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, HubError } from '../errors/hub-error';
import { Authenticator } from './authenticator';
import { hasRole, Principal, Role } from './principal';

const PUBLIC = 'hub:public';
const REQUIRED_ROLES = 'hub:roles';

/** Opens an endpoint to callers without a credential (health only). */
export const Public = () => SetMetadata(PUBLIC, true);

/** The caller needs at least one of these roles; finer ownership rules live in the deciders. */
export const RequireRoles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    // Only reachable if a route is both @Public and asks for a principal: a programming error.
    if (!principal) throw new HubError('internal', 'no_principal', 'No principal on the request');
    return principal;
  },
);

/** Every route needs a bearer credential unless marked @Public. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticator.authenticate(request.headers.authorization);
    request.principal = principal;
    const required = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (required?.length && !hasRole(principal, ...required))
      throw new ForbiddenError(
        'missing_role',
        `This needs one of the roles ${required.join(', ')}`,
        { requiredRoles: required },
      );
    return true;
  }
}
