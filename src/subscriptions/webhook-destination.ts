import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { isIP, LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent } from 'undici';
import { FieldIssue } from '../errors/hub-error';

const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Whether webhooks may go to this address: only one that ipaddr.js classes as plain unicast,
 * which leaves out loopback, private, link-local, unique-local, carrier-grade NAT, multicast,
 * broadcast, unspecified, reserved and documentation ranges, IPv4-mapped, NAT64 (64:ff9b::/96,
 * 64:ff9b:1::/48), 6to4 and Teredo; for IPv6, also only within the global unicast space
 * 2000::/3, which leaves out the IPv4-compatible ::a.b.c.d (ipaddr.js calls those unicast).
 */
export const isPublicAddress = (address: string): boolean => {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.range() !== 'unicast') return false;
  return parsed.kind() === 'ipv4' || parsed.match(GLOBAL_UNICAST);
};

/** Names that stand for this machine or a local network wherever they are looked up. */
const SPECIAL_NAMES = new Set([
  'localhost',
  'local',
  'INTERNAL',
  'localdomain',
  'home.arpa',
  // Debian's /etc/hosts names for ::1 and the link-local multicast groups.
  'ip6-localhost',
  'ip6-loopback',
  'ip6-localnet',
  'ip6-mcastprefix',
  'ip6-allnodes',
  'ip6-allrouters',
]);
const SPECIAL_SUFFIXES = ['.localhost', '.local', '.internal', '.localdomain', '.home.arpa'];

/** The host of a URL: brackets off an IPv6 literal, trailing dots off a name (`localhost.`). */
const hostOf = (url: URL): string => {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(host) ? host : host.replace(/\.+$/, '');
};

const isSpecialName = (name: string): boolean =>
  SPECIAL_NAMES.has(name) || SPECIAL_SUFFIXES.some((suffix) => name.endsWith(suffix));

const NOT_PUBLIC = 'must not point at a loopback or private address';

/**
 * What is wrong with a webhook URL, without looking anything up: http(s) only, no credentials
 * in it, and (unless private networks are allowed) neither an address that is not public nor
 * a name that stands for this machine or a local network.
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
  if (!allowPrivateNetworks && destinationRefusal(raw, false) !== null)
    return [{ field, message: NOT_PUBLIC }];
  return [];
};

/**
 * The reason to refuse a destination whose host is an address literal (connected to without a
 * lookup) or a special name, or null. Other names are checked as they are resolved for each
 * connection (see publicOnlyLookup).
 */
export const destinationRefusal = (raw: string, allowPrivateNetworks: boolean): string | null => {
  if (allowPrivateNetworks) return null;
  const host = hostOf(new URL(raw));
  if (isIP(host)) return isPublicAddress(host) ? null : 'the destination address is not public';
  return isSpecialName(host) ? 'the destination names this machine or a local network' : null;
};

export type ResolveHost = (host: string) => Promise<LookupAddress[]>;

/** The system's resolver (getaddrinfo: /etc/hosts, then DNS), as connections use it. */
export const systemResolve: ResolveHost = (host) => lookup(host, { all: true });

/** Provide a ResolveHost under this token to resolve webhook hosts otherwise (tests do). */
export const WEBHOOK_HOST_RESOLVER = Symbol('WEBHOOK_HOST_RESOLVER');

/**
 * The name lookup of webhook connections. It refuses a name that resolves to any address that
 * is not public, and the connection goes to an address of the very answer it checked. A check
 * made apart from the connection would let a name answer a public address to the check and a
 * private one to the connection (DNS rebinding).
 */
export const publicOnlyLookup =
  (
    resolve: ResolveHost = systemResolve,
    isRefused = (address: string) => !isPublicAddress(address),
  ): LookupFunction =>
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
  resolve: ResolveHost = systemResolve,
): Agent =>
  new Agent(allowPrivateNetworks ? {} : { connect: { lookup: publicOnlyLookup(resolve) } });

/** How long saving a webhook waits for its name to resolve. */
const SAVE_LOOKUP_TIMEOUT_MS = 5_000;
/** getaddrinfo's answers for a name that has no address (as opposed to a failing resolver). */
const NO_ADDRESS = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * Where webhooks may go: a URL is checked as it is saved (its name resolved, every address
 * public), and again at every connection of a delivery (webhookAgent).
 */
export class WebhookDestinations {
  private pool: Agent | null = null;

  constructor(
    private readonly allowPrivateNetworks: boolean,
    private readonly resolve: ResolveHost = systemResolve,
  ) {}

  /**
   * What is wrong with a webhook URL being saved. A name must resolve, and only to public
   * addresses; one whose resolver fails or is slow is let through, as every connection checks
   * it again.
   */
  async issuesOf(raw: string): Promise<FieldIssue[]> {
    const issues = webhookUrlIssues(raw, this.allowPrivateNetworks);
    if (issues.length > 0 || this.allowPrivateNetworks) return issues;
    const host = hostOf(new URL(raw));
    if (isIP(host)) return [];
    const field = 'webhook.url';
    const answer = await this.resolveForSave(host);
    if (answer === 'no-address')
      return [{ field, message: `must name a host that resolves: ${host} has no address` }];
    // The address itself is not shown: it would tell callers about the hub's own network.
    return answer !== 'unknown' && answer.some((address) => !isPublicAddress(address))
      ? [{ field, message: `${NOT_PUBLIC}: ${host} resolves to one` }]
      : [];
  }

  /** Why a delivery must not connect to this URL, when that is known without a lookup. */
  refusalOf(raw: string): string | null {
    return destinationRefusal(raw, this.allowPrivateNetworks);
  }

  get agent(): Agent {
    return (this.pool ??= webhookAgent(this.allowPrivateNetworks, this.resolve));
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }

  private async resolveForSave(host: string): Promise<string[] | 'no-address' | 'unknown'> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'unknown'>((resolve) => {
      timer = setTimeout(() => resolve('unknown'), SAVE_LOOKUP_TIMEOUT_MS);
    });
    // Settles either way, so a lookup that fails after the timeout is not left unhandled.
    const resolved = this.resolve(host).then(
      (answer) => (answer.length === 0 ? 'no-address' : answer.map(({ address }) => address)),
      (error: { code?: unknown }) =>
        typeof error?.code === 'string' && NO_ADDRESS.has(error.code) ? 'no-address' : 'unknown',
    );
    try {
      return await Promise.race([resolved, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }
}
