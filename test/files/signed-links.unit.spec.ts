import { downloadUrl, SignedLinks } from '../../src/files/signed-links';

describe('SignedLinks', () => {
  const links = new SignedLinks(secret());
  const now = new Date('2026-03-01T10:00:00Z');
  const target = 'progress-exhaust/01JQ7Z5R7J2M3N4P5Q6R7S8T9V/b1_progress_20260301.zip';

  it('opens what it was signed for until it expires', () => {
    const link = links.sign(target, 60_000, now);

    expect(link.expiresAt).toEqual(new Date('2026-03-01T10:01:00Z'));
    expect(links.verify(link.token, now)).toBe(target);
    expect(links.verify(link.token, new Date('2026-03-01T10:00:59.999Z'))).toBe(target);
  });

  it('answers an expired link with DOWNLOAD_LINK_EXPIRED (gone)', () => {
    const link = links.sign(target, 60_000, now);

    expect(() => links.verify(link.token, link.expiresAt)).toThrow(
      expect.objectContaining({
        kind: 'gone',
        code: 'DOWNLOAD_LINK_EXPIRED',
        details: { expiredAt: '2026-03-01T10:01:00.000Z' },
      }),
    );
  });

  describe('refuses as DOWNLOAD_LINK_INVALID (forbidden)', () => {
    const token = links.sign(target, 60_000, now).token;
    const [version = '', encodedTarget = '', expiry = '', signature = ''] = token.split('.');
    const otherTarget = Buffer.from('progress-exhaust/other/b2.zip').toString('base64url');
    const flipped = (text: string): string =>
      `${text.slice(0, -2)}${text.at(-2) === 'A' ? 'B' : 'A'}${text.at(-1) ?? ''}`;

    it.each([
      ['another target', [version, otherTarget, expiry, signature]],
      ['a later expiry', [version, encodedTarget, String(Number(expiry) + 3600), signature]],
      ['an altered signature', [version, encodedTarget, expiry, flipped(signature)]],
      ['a shortened signature', [version, encodedTarget, expiry, signature.slice(0, -1)]],
      ['no signature', [version, encodedTarget, expiry]],
      ['another version', ['v2', encodedTarget, expiry, signature]],
      ['an extra part', [version, encodedTarget, expiry, signature, 'x']],
      ['a fractional expiry', [version, encodedTarget, `${expiry}.5`, signature]],
    ])('a token with %s', (_change, parts) => {
      expect(() => links.verify(parts.join('.'), now)).toThrow(
        expect.objectContaining({ kind: 'forbidden', code: 'DOWNLOAD_LINK_INVALID' }),
      );
    });

    it.each(['', 'garbage', '....'])('the token %j', (garbage) => {
      expect(() => links.verify(garbage, now)).toThrow(
        expect.objectContaining({ code: 'DOWNLOAD_LINK_INVALID' }),
      );
    });

    it('a token signed under another secret', () => {
      const foreign = new SignedLinks(secret('other')).sign(target, 60_000, now);

      expect(() => links.verify(foreign.token, now)).toThrow(
        expect.objectContaining({ code: 'DOWNLOAD_LINK_INVALID' }),
      );
    });

    it('an altered token even past its expiry (forgery is not reported as expiry)', () => {
      const tampered = [version, otherTarget, expiry, signature].join('.');

      expect(() => links.verify(tampered, new Date('2027-01-01T00:00:00Z'))).toThrow(
        expect.objectContaining({ code: 'DOWNLOAD_LINK_INVALID' }),
      );
    });
  });

  it('accepts links signed under a previous secret while it is listed, and signs with the new', () => {
    const old = new SignedLinks(secret('old')).sign(target, 60_000, now);
    const rotated = new SignedLinks(secret('new'), [secret('old')]);

    expect(rotated.verify(old.token, now)).toBe(target);
    const fresh = rotated.sign(target, 60_000, now);
    expect(new SignedLinks(secret('new')).verify(fresh.token, now)).toBe(target);
    expect(() => new SignedLinks(secret('old')).verify(fresh.token, now)).toThrow(
      expect.objectContaining({ code: 'DOWNLOAD_LINK_INVALID' }),
    );
  });

  it('refuses a short secret, an empty target and a non-positive lifetime', () => {
    expect(() => new SignedLinks('too short')).toThrow(/at least 32 bytes/);
    expect(() => links.sign('', 60_000, now)).toThrow(RangeError);
    expect(() => links.sign(target, 0, now)).toThrow(RangeError);
    expect(() => links.sign(target, 1.5, now)).toThrow(RangeError);
  });

  it('puts the token in the download URL, URL-safe', () => {
    const link = links.sign(target, 60_000, now);

    const url = new URL(downloadUrl('https://hub.example/v1/jobs/r1/download?x=1', link));

    expect(url.searchParams.get('token')).toBe(link.token);
    expect(url.searchParams.get('x')).toBe('1');
    expect(link.token).toMatch(/^[A-Za-z0-9_.-]+$/);
  });
});

function secret(label = 'current'): string {
  return `${label}-download-link-secret-of-enough-length`;
}
