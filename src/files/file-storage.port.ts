import { Readable } from 'node:stream';
import { InvalidInputError, NotFoundError } from '../errors/hub-error';

/**
 * Where report files live: a folder by default (`FolderStorage`), an object store in a deployment
 * that has one. Keys are relative, slash-separated paths such as
 * `progress-exhaust/<requestId>/<batchId>_progress_<yyyyMMdd>.zip`; the same key names the same
 * file in every adapter.
 *
 * An object store (S3 and compatibles) is another adapter of this port, bound to FILE_STORAGE
 * instead of the folder: the key becomes the object key under a configured prefix; `put` streams
 * the source as a multipart upload, which the store makes visible only when it completes (the
 * atomic, durable rename the folder does by hand) and which is aborted if the source fails;
 * `open` is a GET of the object's body, `stat` a HEAD (404 → null), `delete` a DELETE. Downloads
 * still go through the hub's signed link, which streams `open`, so every download is recorded.
 */
export interface FileStorage {
  /**
   * Stores the whole source under `key`, replacing a file already there. Resolves only once the
   * file is durable and complete: a reader never sees part of it, and an acknowledged file
   * survives a crash. If the source fails, nothing is stored.
   */
  put(key: string, source: FileSource): Promise<StoredFile>;
  /** The file's bytes, streamed. Throws `FileNotFoundError` when there is none. */
  open(key: string): Promise<Readable>;
  /** The file's size, or null when there is none. */
  stat(key: string): Promise<StoredFile | null>;
  /** Removes the file; false when there was none. */
  delete(key: string): Promise<boolean>;
}

export const FILE_STORAGE = Symbol('FILE_STORAGE');

export type FileSource = Readable | AsyncIterable<Uint8Array>;

export interface StoredFile {
  key: string;
  bytes: number;
}

export class FileNotFoundError extends NotFoundError {
  constructor(key: string) {
    super('FILE_NOT_FOUND', `No file is stored at "${key}"`, { key });
  }
}

const MAX_KEY_LENGTH = 512;
// A segment starts with a letter or digit, so ".", "..", hidden names and the adapters' own
// temporary files (which start with a dot) can never be named by a key.
const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Returns the key if it is a relative path of plain segments, and throws otherwise. Keys are built
 * from request and batch ids, so a bad one is a bug or an attack, never something to repair.
 */
export const checkFileKey = (key: string): string => {
  const segments = key.split('/');
  const valid =
    key.length > 0 &&
    key.length <= MAX_KEY_LENGTH &&
    segments.every((segment) => KEY_SEGMENT.test(segment));
  if (!valid)
    throw new InvalidInputError(
      'A file key is a relative path of letters, digits, ".", "_" and "-", each segment starting with a letter or digit',
      [{ field: 'key', message: `"${printable(key)}" is not a valid file key` }],
      'INVALID_FILE_KEY',
    );
  return key;
};

// The key goes into an error message: control characters (NUL among them) are shown escaped.
const printable = (text: string): string =>
  JSON.stringify(text.slice(0, MAX_KEY_LENGTH)).slice(1, -1);
