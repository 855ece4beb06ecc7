import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, LookupFunction } from 'node:net';
import { Agent } from 'undici';
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
 * The reason to refuse a destination whose host is an address literal (those are connected to
 * without a lookup), or null. Names are checked as they are resolved for each connection.
 */
export const addressRefusal = (raw: string, allowPrivateNetworks: boolean): string | null => {
  if (allowPrivateNetworks) return null;
  const host = hostOf(new URL(raw));
  return isIP(host) && isNonPublicAddress(host) ? 'the destination address is not public' : null;
};

export type ResolveHost = (host: string) => Promise<LookupAddress[]>;

const resolveAll: ResolveHost = (host) => lookup(host, { all: true });

/**
 * The name lookup of webhook connections. It refuses a name that resolves to any address that
 * is not public, and the connection goes to an address of the very answer it checked. A check
 * made apart from the connection would let a name answer a public address to the check and a
 * private one to the connection (DNS rebinding).
 */
export const publicOnlyLookup =
  (resolve: ResolveHost = resolveAll, isRefused = isNonPublicAddress): LookupFunction =>
  (hostname, options, callback) => {
    const fail = (error: Error) => callback(error, '', 0);
    resolve(hostname).then((answer) => {
      if (answer.some(({ address }) => isRefused(address)))
        return fail(new Error(`${hostname} resolves to an address that is not public`));
      const family = options.family === 4 || options.family === 6 ? options.family : 0;
      const usable = family === 0 ? answer : answer.filter((entry) => entry.family === family);
      const first = usable[0];
      if (!first) return fail(new Error(`${hostname} could not be resolved`));
      if (options.all) callback(null, usable);
      else callback(null, first.address, first.family);
    }, fail);
  };

/** The connection pool webhook deliveries go through. */
export const webhookAgent = (
  allowPrivateNetworks: boolean,
  resolve: ResolveHost = resolveAll,
): Agent =>
  new Agent(allowPrivateNetworks ? {} : { connect: { lookup: publicOnlyLookup(resolve) } });
