import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { FieldIssue } from '../errors/hub-error';

/** Loopback, private, link-local, carrier-grade NAT and other non-public ranges. */
const NON_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6');

const isNonPublicAddress = (address: string): boolean => {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return NON_PUBLIC.check(mapped[1]!, 'ipv4');
  return NON_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

/**
 * What is wrong with a webhook URL, checked when a subscription is saved: http(s) only, no
 * credentials in it, and (unless private networks are allowed) no loopback or private host.
 */
export const webhookUrlIssues = (raw: string, allowPrivateNetworks: boolean): FieldIssue[] => {
  const field = 'webhook.url';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [{ field, message: 'must be an absolute URL' }];
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return [{ field, message: 'must use http or https' }];
  if (url.username || url.password)
    return [{ field, message: 'must not carry credentials; deliveries are signed instead' }];
  const host = hostOf(url);
  if (
    !allowPrivateNetworks &&
    (host === 'localhost' || host.endsWith('.localhost') || isNonPublicAddress(host))
  )
    return [{ field, message: 'must not point at a loopback or private address' }];
  return [];
};

/**
 * Checked before each delivery, because a name may resolve elsewhere than when it was saved: the
 * reason to refuse the destination, or null when it may be called.
 */
export const destinationRefusal = async (
  raw: string,
  allowPrivateNetworks: boolean,
): Promise<string | null> => {
  if (allowPrivateNetworks) return null;
  const host = hostOf(new URL(raw));
  if (isIP(host)) return isNonPublicAddress(host) ? 'the destination address is not public' : null;
  try {
    const addresses = await lookup(host, { all: true });
    return addresses.some(({ address }) => isNonPublicAddress(address))
      ? `${host} resolves to an address that is not public`
      : null;
  } catch {
    return `${host} could not be resolved`;
  }
};
