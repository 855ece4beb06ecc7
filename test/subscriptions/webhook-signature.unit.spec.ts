import { createHmac } from 'node:crypto';
import { webhookUrlIssues } from '../../src/subscriptions/webhook-destination';
import {
  newWebhookSecret,
  SECRET_PREFIX,
  signatureOf,
  signedHeaders,
  verifySignature,
} from '../../src/subscriptions/webhook-signature';

/** Standard Webhooks, computed here: HMAC-SHA256 keyed with the base64 part after whsec_. */
const expectedSignature = (secret: string, id: string, timestamp: number, body: string) => {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
};

const SECRET_A = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`;
const SECRET_B = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;
const SECRET_C = `whsec_${Buffer.from('c'.repeat(32)).toString('base64')}`;
const ID = '01JDELIVERY0000000000000000';
const TIMESTAMP = 1_764_583_200;
const BODY = JSON.stringify({ subscriptionId: 'sub-1', deliveryId: ID, items: [{ n: 'é😀' }] });

describe('webhook signatures (Standard Webhooks)', () => {
  it('matches the Standard Webhooks reference example', () => {
    // The example of the specification's reference libraries.
    expect(
      signatureOf(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('signs `{id}.{timestamp}.{body}` with the decoded secret', () => {
    expect(signatureOf(SECRET_A, ID, TIMESTAMP, BODY)).toBe(
      expectedSignature(SECRET_A, ID, TIMESTAMP, BODY),
    );
    // The key is the decoded bytes, not the text of the secret.
    const overText = `v1,${createHmac('sha256', SECRET_A).update(`${ID}.${TIMESTAMP}.${BODY}`).digest('base64')}`;
    expect(signatureOf(SECRET_A, ID, TIMESTAMP, BODY)).not.toBe(overText);
  });

  it('issues secrets as whsec_ and 32 random bytes in base64', () => {
    const secret = newWebhookSecret();
    expect(SECRET_PREFIX).toBe('whsec_');
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('sends the id, the timestamp and one signature per active secret, space-separated', () => {
    expect(signedHeaders([SECRET_A, SECRET_B], ID, TIMESTAMP, BODY)).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': String(TIMESTAMP),
      'webhook-signature': `${expectedSignature(SECRET_A, ID, TIMESTAMP, BODY)} ${expectedSignature(SECRET_B, ID, TIMESTAMP, BODY)}`,
    });
    expect(signedHeaders([SECRET_A], ID, TIMESTAMP, BODY)['webhook-signature']).toBe(
      expectedSignature(SECRET_A, ID, TIMESTAMP, BODY),
    );
  });

  it('verifies against any of the secrets signed with', () => {
    const header = signedHeaders([SECRET_A, SECRET_B], ID, TIMESTAMP, BODY)['webhook-signature']!;
    expect(verifySignature(SECRET_A, ID, TIMESTAMP, BODY, header)).toBe(true);
    expect(verifySignature(SECRET_B, ID, TIMESTAMP, BODY, header)).toBe(true);
    expect(verifySignature(SECRET_C, ID, TIMESTAMP, BODY, header)).toBe(false);
  });

  it('rejects a tampered body, timestamp or id', () => {
    const header = signedHeaders([SECRET_A], ID, TIMESTAMP, BODY)['webhook-signature']!;
    expect(verifySignature(SECRET_A, ID, TIMESTAMP, `${BODY} `, header)).toBe(false);
    expect(verifySignature(SECRET_A, ID, TIMESTAMP, BODY.replace('sub-1', 'sub-2'), header)).toBe(
      false,
    );
    expect(verifySignature(SECRET_A, ID, TIMESTAMP + 1, BODY, header)).toBe(false);
    expect(verifySignature(SECRET_A, `${ID}x`, TIMESTAMP, BODY, header)).toBe(false);
  });

  it('rejects headers that are not a valid signature', () => {
    const valid = expectedSignature(SECRET_A, ID, TIMESTAMP, BODY);
    for (const header of [
      '',
      'v1,',
      valid.replace('v1,', 'v2,'),
      valid.slice(3),
      `${valid.slice(0, -2)}==`,
      valid.toLowerCase(),
    ])
      expect(verifySignature(SECRET_A, ID, TIMESTAMP, BODY, header)).toBe(false);
    expect(verifySignature(SECRET_A, ID, TIMESTAMP, BODY, `v1,bogus ${valid}`)).toBe(true);
  });
});

describe('webhookUrlIssues', () => {
  const refused = (message: string) => [{ field: 'webhook.url', message }];
  const PRIVATE = 'must not point at a loopback or private address';

  it.each([
    'https://example.org/hook',
    'http://example.org:8080/hook?x=1',
    'https://8.8.8.8/hook',
    'https://172.32.0.1/',
    'https://[2606:4700::1111]/hook',
  ])('accepts %s', (url) => {
    expect(webhookUrlIssues(url, false)).toEqual([]);
  });

  it.each(['not a url', '/relative/path', 'example.org/hook', ''])(
    'refuses %j, which is not an absolute URL',
    (url) => {
      expect(webhookUrlIssues(url, true)).toEqual(refused('must be an absolute URL'));
    },
  );

  it.each([
    'ftp://example.org/hook',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'ws://example.org',
  ])('refuses %s, which is not http(s), even with private networks allowed', (url) => {
    expect(webhookUrlIssues(url, true)).toEqual(refused('must use http or https'));
  });

  it.each([
    'https://user:secret@example.org/hook',
    'https://user@example.org/hook',
    'https://:secret@example.org/hook',
  ])('refuses %s, which carries credentials', (url) => {
    expect(webhookUrlIssues(url, true)).toEqual(
      refused('must not carry credentials; deliveries are signed instead'),
    );
  });

  it.each([
    'http://localhost:3000/hook',
    'http://LOCALHOST/hook',
    'http://api.localhost/hook',
    'http://127.0.0.1/hook',
    'http://127.5.6.7/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'http://10.0.0.1/hook',
    'http://10.255.255.255/hook',
    'http://172.16.0.1/hook',
    'http://172.31.255.255/hook',
    'http://192.168.1.10/hook',
    'http://169.254.169.254/latest/meta-data',
    'http://100.64.0.1/hook',
    'http://0.0.0.0/hook',
    'http://[::1]/hook',
    'http://[0:0:0:0:0:0:0:1]/hook',
    'http://[::]/hook',
    'http://[fc00::1]/hook',
    'http://[fd12:3456::1]/hook',
    'http://[fe80::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[::ffff:192.168.0.1]/hook',
  ])('refuses %s unless private networks are allowed', (url) => {
    expect(webhookUrlIssues(url, false)).toEqual(refused(PRIVATE));
    expect(webhookUrlIssues(url, true)).toEqual([]);
  });

  it('checks the host, not the path or query', () => {
    expect(webhookUrlIssues('https://example.org/127.0.0.1?h=localhost', false)).toEqual([]);
    expect(webhookUrlIssues('https://localhost.example.org/hook', false)).toEqual([]);
  });
});
