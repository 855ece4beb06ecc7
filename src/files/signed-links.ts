import { createHmac, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, HubError } from '../errors/hub-error';

/** The query parameter a download link carries its token in. */
export const DOWNLOAD_TOKEN_PARAM = 'token';

export interface SignedLink {
  token: string;
  expiresAt: Date;
}

// Shorter secrets can be guessed offline from a single link.
const MIN_SECRET_LENGTH = 32;
const MAX_TARGET_LENGTH = 1024;
// Bumped if the token's layout changes, so old tokens are refused instead of misread.
const VERSION = 'v1';

/**
 * Download links that need no session: the token names what it opens (a file key or a request
 * id) and until when, and carries an HMAC-SHA256 of both under a secret only the hub knows. So
 * the link can be mailed, and anyone holding it may download until it expires, but no one can
 * point it elsewhere or extend it.
 *
 * Secrets can be rotated: tokens are signed with the current secret and accepted under it or
 * any of the previous ones, until those are dropped.
 */
export class SignedLinks {
  private readonly current: Buffer;
  private readonly accepted: readonly Buffer[];

  constructor(secret: string, previousSecrets: readonly string[] = []) {
    this.accepted = [secret, ...previousSecrets].map(secretBytes);
    this.current = secretBytes(secret);
  }

  /**
   * A token for `target` that lives `ttlMs` from `now`, rounded up to a whole second (the token
   * carries seconds). The target is readable in the token, not secret: only unforgeable.
   */
  sign(target: string, ttlMs: number, now: Date): SignedLink {
    if (target.length === 0 || target.length > MAX_TARGET_LENGTH)
      throw new RangeError(`A link target has 1 to ${MAX_TARGET_LENGTH} characters`);
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new RangeError('A link lives a positive whole number of milliseconds');
    const expiresAt = Math.ceil((now.getTime() + ttlMs) / 1000);
    const payload = `${Buffer.from(target).toString('base64url')}.${expiresAt}`;
    return {
      token: `${VERSION}.${payload}.${mac(this.current, payload)}`,
      expiresAt: new Date(expiresAt * 1000),
    };
  }

  /**
   * The target the token opens. Throws DOWNLOAD_LINK_INVALID (forbidden) for a token the hub did
   * not sign as it is, and DOWNLOAD_LINK_EXPIRED (gone) for a genuine one past its time.
   */
  verify(token: string, now: Date): string {
    const [version, encodedTarget, expiry, signature, ...rest] = token.split('.');
    if (
      version !== VERSION ||
      encodedTarget === undefined ||
      expiry === undefined ||
      signature === undefined ||
      rest.length > 0 ||
      !/^[0-9]{1,15}$/.test(expiry)
    )
      throw invalidLink();
    const payload = `${encodedTarget}.${expiry}`;
    if (!this.accepted.some((secret) => sameMac(mac(secret, payload), signature)))
      throw invalidLink();
    // Only a signed token is judged on its expiry: an altered one is invalid, whatever its date.
    const expiresAt = new Date(Number(expiry) * 1000);
    if (now.getTime() >= expiresAt.getTime())
      throw new HubError('gone', 'DOWNLOAD_LINK_EXPIRED', 'This download link has expired', {
        expiredAt: expiresAt.toISOString(),
      });
    return Buffer.from(encodedTarget, 'base64url').toString();
  }
}

/** The link to mail: `base` (the download endpoint) with the token in its query. */
export const downloadUrl = (base: string | URL, link: SignedLink): string => {
  const url = new URL(base);
  url.searchParams.set(DOWNLOAD_TOKEN_PARAM, link.token);
  return url.toString();
};

const secretBytes = (secret: string): Buffer => {
  if (Buffer.byteLength(secret) < MIN_SECRET_LENGTH)
    throw new Error(`A download link secret has at least ${MIN_SECRET_LENGTH} bytes`);
  return Buffer.from(secret);
};

const mac = (secret: Buffer, payload: string): string =>
  createHmac('sha256', secret).update(`${VERSION}.${payload}`).digest('base64url');

// Constant time, so the response time does not tell how much of a forged signature was right.
const sameMac = (expected: string, given: string): boolean => {
  const expectedBytes = Buffer.from(expected);
  const givenBytes = Buffer.from(given);
  return expectedBytes.length === givenBytes.length && timingSafeEqual(expectedBytes, givenBytes);
};

const invalidLink = (): ForbiddenError =>
  new ForbiddenError('DOWNLOAD_LINK_INVALID', 'This download link is not valid');
