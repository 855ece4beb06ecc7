import { Inject, Injectable } from '@nestjs/common';
import { UnauthenticatedError } from '../errors/hub-error';
import { API_KEY_RESOLVER, ApiKeyResolver } from './api-key-resolver';
import { AdminToken, LocalAdminToken } from './admin-token';
import { JwtVerifier } from './jwt-verifier';
import { CLI_OPERATOR, Principal } from './principal';

export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');
export const JWT_VERIFIER = Symbol('JWT_VERIFIER');
export const LOCAL_ADMIN_TOKEN = Symbol('LOCAL_ADMIN_TOKEN');

/** Turns a bearer token into a principal, or refuses it. */
@Injectable()
export class Authenticator {
  constructor(
    @Inject(API_KEY_RESOLVER) private readonly apiKeys: ApiKeyResolver,
    @Inject(ADMIN_TOKEN) private readonly adminToken: AdminToken | null,
    @Inject(JWT_VERIFIER) private readonly jwt: JwtVerifier | null,
    @Inject(LOCAL_ADMIN_TOKEN) private readonly localToken: LocalAdminToken | null,
  ) {}

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new UnauthenticatedError('MISSING_CREDENTIALS');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const token = match?.[1];
    if (!token)
      throw new UnauthenticatedError(
        'MALFORMED_AUTHORIZATION',
        'Send the credential as "Authorization: Bearer <token>"',
      );
    if (this.adminToken?.matches(token))
      return {
        userId: 'hub-admin',
        organisationId: 'system',
        roles: ['SYSTEM_ADMIN'],
        credential: { kind: 'admin-token' },
      };
    if (this.localToken?.matches(token)) return CLI_OPERATOR;
    if (this.apiKeys.recognises(token)) return this.apiKeys.principalOf(token);
    if (this.jwt && token.split('.').length === 3) return this.jwt.verify(token);
    throw new UnauthenticatedError('INVALID_TOKEN', 'The token is not valid for this hub');
  }
}
