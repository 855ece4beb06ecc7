import { createRemoteJWKSet, errors, JWTPayload, jwtVerify } from 'jose';
import { OidcConfig } from '../config/hub-config';
import { HubError, UnauthenticatedError } from '../errors/hub-error';
import { isRole, Principal, Role } from './principal';

const claimAt = (payload: JWTPayload, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (value, key) =>
        typeof value === 'object' && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined,
      payload,
    );

// Identity providers spell roles their own way (`org_admin`, `ORG-ADMIN`); the hub's are fixed.
const toRoles = (value: unknown): Role[] =>
  Array.isArray(value)
    ? value
        .filter((role): role is string => typeof role === 'string')
        .map((role) => role.toUpperCase().replace(/-/g, '_'))
        .filter(isRole)
    : [];

/** Verifies a deployment's identity-provider JWTs against its JWKS (keys fetched and cached). */
export class JwtVerifier {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly config: OidcConfig) {
    this.keys = createRemoteJWKSet(new URL(config.jwksUrl), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: 30,
      }));
    } catch (error) {
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
        throw new HubError(
          'unavailable',
          'IDENTITY_PROVIDER_UNAVAILABLE',
          'The identity provider’s signing keys could not be fetched; try again shortly',
          {},
          { cause: error },
        );
      if (error instanceof errors.JWTExpired)
        throw new UnauthenticatedError('TOKEN_EXPIRED', 'The token has expired');
      if (error instanceof errors.JOSEError)
        throw new UnauthenticatedError('INVALID_TOKEN', 'The token is not valid for this hub');
      // A JWKS endpoint that cannot be reached surfaces as a plain fetch error.
      throw new HubError(
        'unavailable',
        'IDENTITY_PROVIDER_UNAVAILABLE',
        'The identity provider could not be reached; try again shortly',
        {},
        { cause: error },
      );
    }
    const organisationId = claimAt(payload, this.config.organisationClaim);
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new UnauthenticatedError('INVALID_TOKEN', 'The token names no subject');
    if (typeof organisationId !== 'string' || organisationId === '')
      throw new UnauthenticatedError(
        'INVALID_TOKEN',
        `The token has no "${this.config.organisationClaim}" claim naming the organisation`,
      );
    const roles = toRoles(claimAt(payload, this.config.rolesClaim));
    return {
      userId: payload.sub,
      organisationId,
      roles: roles.length > 0 ? roles : toRoles(claimAt(payload, 'realm_access.roles')),
      credential: { kind: 'jwt' },
    };
  }
}
