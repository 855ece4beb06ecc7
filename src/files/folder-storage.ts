import { randomBytes } from 'node:crypto';
import { FileHandle, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import {
  checkFileKey,
  FileNotFoundError,
  FileSource,
  FileStorage,
  StoredFile,
} from './file-storage.port';

/**
 * Files in a folder of the local disk (`EXHAUST_DIR`). A file is written to a temporary name
 * beside its final one, flushed to the disk, then renamed into place, and the folder is flushed
 * too: a reader sees either no file or the whole file, and once `put` resolves the file survives
 * a crash or power loss.
 */
export class FolderStorage implements FileStorage {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, source: FileSource): Promise<StoredFile> {
    const path = this.pathOf(key);
    const folder = dirname(path);
    // Same folder as the target, so the rename is atomic; the leading dot keeps it outside every key.
    const temporary = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const firstCreated = await mkdir(folder, { recursive: true });
      const bytes = await writeDurably(temporary, source);
      await rename(temporary, path);
      await syncFolders(folder, firstCreated === undefined ? folder : dirname(firstCreated));
      await removeLeftovers(folder, basename(path));
      return { key, bytes };
    } catch (error) {
      abandon(source);
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async open(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      // Opened here rather than lazily by the stream, so a missing file is an answer, not a stream error.
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (error) {
      if (isMissing(error)) throw new FileNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const found = await stat(this.pathOf(key));
      return found.isFile() ? { key, bytes: found.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await rm(this.pathOf(key));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  private pathOf(key: string): string {
    const path = resolve(this.root, checkFileKey(key));
    // checkFileKey already rules out "..", absolute keys and NUL; this guards the guard.
    if (!path.startsWith(this.root + sep)) throw new Error(`File key "${key}" leaves the folder`);
    return path;
  }
}

/**
 * Lets go of a source that will not be read to its end, so what feeds it (a zip, a database
 * cursor) stops too rather than waiting forever for its reader.
 */
const abandon = (source: FileSource): void => {
  if (source instanceof Readable) source.destroy();
  else
    void source[Symbol.asyncIterator]()
      .return?.()
      ?.catch(() => undefined);
};

/** Writes the source to a new file and flushes it to the disk; returns the bytes written. */
const writeDurably = async (path: string, source: FileSource): Promise<number> => {
  const handle = await open(path, 'wx');
  try {
    let bytes = 0;
    // A Readable yields Buffers, or strings when it was given an encoding.
    for await (const chunk of source as AsyncIterable<Uint8Array | string>)
      bytes += await writeAll(handle, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    await handle.sync();
    return bytes;
  } finally {
    await handle.close();
  }
};

const writeAll = async (handle: FileHandle, chunk: Uint8Array): Promise<number> => {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
  return chunk.byteLength;
};

/**
 * Temporary files of earlier writes of the same key that never finished: a process killed while
 * writing leaves one. Only one writer makes a key at a time (a report job holds its lease), so any
 * other temporary of this name is dead.
 */
const removeLeftovers = async (folder: string, name: string): Promise<void> => {
  const prefix = `.${name}.`;
  const entries = await readdir(folder).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((entry) => entry.startsWith(prefix) && entry.endsWith('.tmp'))
      .map((entry) => rm(join(folder, entry), { force: true })),
  );
};

/**
 * Flushes the folder's entries (the rename), and those of each folder `mkdir` created on the way,
 * up to `top`: a new folder's own name lives in its parent.
 */
const syncFolders = async (folder: string, top: string): Promise<void> => {
  for (let current = folder; ; current = dirname(current)) {
    await syncFolder(current);
    if (current === top || dirname(current) === current) return;
  }
};

const syncFolder = async (folder: string): Promise<void> => {
  let handle: FileHandle;
  try {
    handle = await open(folder, 'r');
  } catch (error) {
    // Windows cannot open a folder to flush it; its file systems order the rename anyway.
    if (hasCode(error, 'EISDIR') || hasCode(error, 'EPERM')) return;
    throw error;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};

const isMissing = (error: unknown): boolean =>
  hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR');

// Not `instanceof Error`: Node's system errors may come from another realm (as under Jest).
const hasCode = (error: unknown, code: string): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === code;
