import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubError } from '../errors/hub-error';

const LOCK_FILE = 'hub.lock';

/** Only one process may open an embedded DATA_DIR: a lock file in it names the owning pid. */
export class DataDirInUseError extends HubError {
  constructor(
    readonly dataDir: string,
    readonly owner: number,
  ) {
    super(
      'unavailable',
      'DATA_DIR_IN_USE',
      `The embedded database in ${dataDir} is in use by process ${owner}. ` +
        'Stop that process first, or point DATA_DIR elsewhere.',
    );
  }
}

/**
 * Makes this process the owner of `dataDir` (an absolute path, created if missing), or throws
 * DataDirInUseError. Claiming a directory this process already owns succeeds. Returns the lock
 * file's path.
 */
export const claimDataDir = (dataDir: string): string => {
  mkdirSync(dataDir, { recursive: true });
  const lockPath = join(dataDir, LOCK_FILE);
  try {
    writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
    return lockPath;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = dataDirOwner(dataDir);
  if (owner !== null) throw new DataDirInUseError(dataDir, owner);
  // The previous owner died without cleaning up (e.g. SIGKILL), or it is us: take it over.
  writeFileSync(lockPath, String(process.pid));
  return lockPath;
};

/** The live process other than this one that owns `dataDir`; null when none does. */
export const dataDirOwner = (dataDir: string): number | null => {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const owner = Number.parseInt(text, 10);
  return Number.isInteger(owner) && owner !== process.pid && isAlive(owner) ? owner : null;
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
