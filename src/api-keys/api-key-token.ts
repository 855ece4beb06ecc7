import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { newUlid } from '../ids/ulid';

const PREFIX = 'lhk_';
const TOKEN = /^lhk_([0-9A-HJKMNP-TV-Z]{26})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKeyToken {
  keyId: string;
  token: string;
  secretHash: string;
}

/**
 * A key is `lhk_<keyId>_<secret>`: the id locates the key without a table scan, and the 256-bit
 * secret is only ever stored as a SHA-256 hash. A slow password hash buys nothing for a random
 * secret this long, and would cost every request.
 */
export const newApiKeyToken = (): NewApiKeyToken => {
  const keyId = newUlid();
  const secret = randomBytes(32).toString('base64url');
  return { keyId, token: `${PREFIX}${keyId}_${secret}`, secretHash: hashSecret(secret) };
};

export const looksLikeApiKey = (token: string): boolean => token.startsWith(PREFIX);

export const parseApiKeyToken = (token: string): { keyId: string; secret: string } | null => {
  const match = TOKEN.exec(token);
  return match?.[1] && match[2] ? { keyId: match[1], secret: match[2] } : null;
};

export const hashSecret = (secret: string): string =>
  createHash('sha256').update(secret).digest('hex');

export const secretMatches = (secret: string, expectedHash: string): boolean => {
  const actual = Buffer.from(hashSecret(secret), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
};
