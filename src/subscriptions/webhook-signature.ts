import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures as the Standard Webhooks specification defines them
 * (https://www.standardwebhooks.com): the headers webhook-id, webhook-timestamp (Unix seconds)
 * and webhook-signature, which carries one `v1,<base64 HMAC-SHA256>` per active secret,
 * separated by spaces, each over `{id}.{timestamp}.{body}` with the secret's decoded bytes as
 * key. Receivers accept a delivery when any signature matches a secret they hold, so a secret
 * is rotated by issuing a new one, switching the receiver over, then revoking the old one.
 */
export const SECRET_PREFIX = 'whsec_';

export const newWebhookSecret = (): string =>
  `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;

const keyOf = (secret: string): Buffer =>
  Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );

export const signatureOf = (secret: string, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;

export const signedHeaders = (
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': secrets.map((secret) => signatureOf(secret, id, timestamp, body)).join(' '),
});

/** The receiver's side: whether `header` holds a valid signature by `secret`. */
export const verifySignature = (
  secret: string,
  id: string,
  timestamp: number,
  body: string,
  header: string,
): boolean => {
  const expected = Buffer.from(signatureOf(secret, id, timestamp, body));
  return header
    .split(' ')
    .map((candidate) => Buffer.from(candidate))
    .some(
      (candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected),
    );
};
