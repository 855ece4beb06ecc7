import { Principal } from './principal';

/**
 * How the authenticator turns an API key into a principal. The api-keys slice provides it, so
 * that authentication knows the shape of the port and not the slice behind it.
 */
export interface ApiKeyResolver {
  /** Whether the bearer token has the form of an API key, rather than of a JWT or admin token. */
  recognises(token: string): boolean;
  /** The principal the key stands for; refuses (UnauthenticatedError) a malformed, unknown or revoked key. */
  principalOf(token: string): Promise<Principal>;
}

export const API_KEY_RESOLVER = Symbol('API_KEY_RESOLVER');
