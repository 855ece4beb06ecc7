import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { dataDirOwner } from '../database/data-dir-lock';

const HUB_FILE = 'hub.json';

/**
 * How to reach the hub that owns an embedded DATA_DIR, kept in DATA_DIR/hub.json (mode 0600)
 * while it listens: the CLI cannot open a directory a hub holds, so it asks that hub instead.
 */
export interface HubFile {
  pid: number;
  url: string;
  /** A system-admin bearer token that only this process accepts, and only while it runs. */
  token: string;
}

/** Who holds a DATA_DIR: nobody, a hub that listens (and how to reach it), or another process. */
export type DataDirHolder =
  { kind: 'free' } | { kind: 'hub'; hub: HubFile } | { kind: 'other'; pid: number };

/** Written atomically (a reader never sees half a file), readable by the owner only. */
export const writeHubFile = (dataDir: string, hub: HubFile): void => {
  const path = join(dataDir, HUB_FILE);
  const partial = `${path}.${process.pid}.tmp`;
  rmSync(partial, { force: true });
  writeFileSync(partial, `${JSON.stringify(hub)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(partial, path);
};

/** Removes the file if this process wrote it. */
export const removeHubFile = (dataDir: string): void => {
  if (readHubFile(dataDir)?.pid === process.pid) rmSync(join(dataDir, HUB_FILE), { force: true });
};

/**
 * A hub file naming a process that no longer owns the directory (it was killed) is ignored:
 * the directory is free, and the next hub overwrites the file.
 */
export const dataDirHolder = (dataDir: string): DataDirHolder => {
  const owner = dataDirOwner(dataDir);
  if (owner === null) return { kind: 'free' };
  const hub = readHubFile(dataDir);
  return hub?.pid === owner ? { kind: 'hub', hub } : { kind: 'other', pid: owner };
};

const readHubFile = (dataDir: string): HubFile | null => {
  try {
    const parsed = JSON.parse(readFileSync(join(dataDir, HUB_FILE), 'utf8')) as Partial<HubFile>;
    const { pid, url, token } = parsed;
    return typeof pid === 'number' && typeof url === 'string' && typeof token === 'string'
      ? { pid, url, token }
      : null;
  } catch {
    return null;
  }
};

/** The URL a client on this machine reaches a server at: loopback for a wildcard address. */
export const localUrl = (address: AddressInfo): string => {
  const wildcard: Record<string, string> = { '0.0.0.0': '127.0.0.1', '::': '::1' };
  const host = wildcard[address.address] ?? address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
};
