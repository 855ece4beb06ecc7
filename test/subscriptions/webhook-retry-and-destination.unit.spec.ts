import { DEFAULT_RETRY_SCHEDULE_MS } from '../../src/config/hub-config';
import { retryDelayMs } from '../../src/subscriptions/webhook-delivery';
import {
  destinationRefusal,
  isPublicAddress,
  webhookUrlIssues,
} from '../../src/subscriptions/webhook-destination';

const HOUR = 3_600_000;

describe('the webhook retry schedule', () => {
  afterEach(() => jest.restoreAllMocks());

  it('by default retries for more than a day: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h', () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([
      5_000,
      300_000,
      1_800_000,
      2 * HOUR,
      5 * HOUR,
      10 * HOUR,
      10 * HOUR,
    ]);
    // The shortest the random part allows: no jitter at all.
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const total = [1, 2, 3, 4, 5, 6, 7].reduce(
      (sum, failures) => sum + retryDelayMs(failures, DEFAULT_RETRY_SCHEDULE_MS),
      0,
    );
    expect(total).toBeGreaterThanOrEqual(24 * HOUR);
  });

  it('waits the entry for the failures so far, never less, up to a tenth more', () => {
    const schedule = [100, 1_000, 10_000];
    const random = jest.spyOn(Math, 'random');
    random.mockReturnValue(0);
    expect([1, 2, 3].map((failures) => retryDelayMs(failures, schedule))).toEqual([
      100, 1_000, 10_000,
    ]);
    random.mockReturnValue(0.5);
    expect([1, 2, 3].map((failures) => retryDelayMs(failures, schedule))).toEqual([
      105, 1_050, 10_500,
    ]);
    random.mockReturnValue(0.999_999);
    expect([1, 2, 3].map((failures) => retryDelayMs(failures, schedule))).toEqual([
      110, 1_100, 11_000,
    ]);
  });

  it('repeats its last entry past its end (a subscription may allow more attempts)', () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    for (const failures of [3, 4, 10, 99]) expect(retryDelayMs(failures, [10, 20, 30])).toBe(30);
  });

  it('spreads retries with real jitter, within [delay, delay × 1.1]', () => {
    const delays = Array.from({ length: 200 }, () => retryDelayMs(2, [1_000, 60_000]));
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(60_000);
      expect(delay).toBeLessThanOrEqual(66_000);
    }
    expect(new Set(delays).size).toBeGreaterThan(1);
  });
});

describe('public addresses (ipaddr.js)', () => {
  it.each([
    '8.8.8.8',
    '93.184.216.34',
    '172.32.0.1',
    '2606:4700::1111',
    '2a00:1450:4001:80b::200e',
  ])('accepts %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it.each([
    ['loopback', '127.0.0.1'],
    ['loopback', '127.255.0.9'],
    ['loopback', '::1'],
    ['private', '10.1.2.3'],
    ['private', '172.16.0.1'],
    ['private', '192.168.1.1'],
    ['carrier-grade NAT', '100.64.0.1'],
    ['link-local', '169.254.169.254'],
    ['link-local', 'fe80::1'],
    ['unique-local', 'fd00::1'],
    ['IPv4-mapped', '::ffff:127.0.0.1'],
    ['IPv4-mapped (even of a public address)', '::ffff:8.8.8.8'],
    ['IPv4-compatible', '::7f00:1'],
    ['IPv4-compatible', '::8.8.8.8'],
    ['NAT64', '64:ff9b::7f00:1'],
    ['NAT64', '64:ff9b::a00:1'],
    ['local NAT64', '64:ff9b:1::7f00:1'],
    ['6to4', '2002:7f00:1::1'],
    ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['multicast', '224.0.0.1'],
    ['multicast', 'ff02::1'],
    ['broadcast', '255.255.255.255'],
    ['unspecified', '0.0.0.0'],
    ['unspecified', '::'],
    ['this network', '0.1.2.3'],
    ['documentation', '192.0.2.10'],
    ['documentation', '198.51.100.1'],
    ['documentation', '203.0.113.7'],
    ['documentation', '2001:db8::1'],
    ['benchmarking', '198.18.0.1'],
    ['reserved', '240.0.0.1'],
    ['discard-only', '100::1'],
    ['site-local', 'fec0::1'],
    ['not an address', 'example.org'],
  ])('refuses %s %s', (_, address) => {
    expect(isPublicAddress(address)).toBe(false);
  });
});

describe('webhook URLs that are refused without a lookup', () => {
  const PRIVATE = [
    { field: 'webhook.url', message: 'must not point at a loopback or private address' },
  ];

  it.each([
    'http://localhost.:8080/hook',
    'http://localhost../hook',
    'http://ip6-localhost/hook',
    'http://ip6-loopback/hook',
    'http://IP6-LOCALHOST./hook',
    'http://api.localhost/hook',
    'http://printer.local/hook',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://router.home.arpa/hook',
    'http://localhost.localdomain/hook',
    'http://[::7f00:1]/hook',
    'http://[::127.0.0.1]/hook',
    'http://[64:ff9b::7f00:1]/hook',
    'http://[64:ff9b::127.0.0.1]/hook',
    'http://[64:ff9b:1::a00:1]/hook',
    'http://[2002:7f00:1::1]/hook',
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook',
    'http://[ff02::1]/hook',
    'http://224.0.0.1/hook',
    'http://192.0.2.1/hook',
    'http://[2001:db8::1]/hook',
    'http://127.0.0.1./hook',
  ])('refuses %s unless private networks are allowed', (url) => {
    expect(webhookUrlIssues(url, false)).toEqual(PRIVATE);
    expect(webhookUrlIssues(url, true)).toEqual([]);
    expect(destinationRefusal(url, false)).not.toBeNull();
    expect(destinationRefusal(url, true)).toBeNull();
  });

  it('leaves other names to the lookup, and only looks at the host', () => {
    for (const url of [
      'https://hooks.example.org/hub',
      'https://localhost.example.org/hook',
      'https://local.example.org/hook',
      'https://example.org/localhost?to=127.0.0.1',
    ]) {
      expect(webhookUrlIssues(url, false)).toEqual([]);
      expect(destinationRefusal(url, false)).toBeNull();
    }
  });
});
