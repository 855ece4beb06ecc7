import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { FileNotFoundError } from '../../src/files/file-storage.port';
import { FolderStorage } from '../../src/files/folder-storage';

describe('FolderStorage', () => {
  let root: string;
  let storage: FolderStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'folder-storage-'));
    storage = new FolderStorage(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('stores a file under its key, creating the folders, and reads it back', async () => {
    const stored = await storage.put(key, Readable.from([Buffer.from('PK'), Buffer.from('zip')]));

    expect(stored).toEqual({ key, bytes: 5 });
    expect(await readFile(join(root, key), 'utf8')).toBe('PKzip');
    expect((await buffer(await storage.open(key))).toString()).toBe('PKzip');
    expect(await storage.stat(key)).toEqual({ key, bytes: 5 });
  });

  it('replaces a file stored under the same key', async () => {
    await storage.put(key, Readable.from(['first version']));
    await storage.put(key, Readable.from(['second']));

    expect((await buffer(await storage.open(key))).toString()).toBe('second');
  });

  it('stores nothing, and leaves no temporary file, when the source fails', async () => {
    const failing = async function* (): AsyncGenerator<Uint8Array> {
      yield Buffer.from('half a ');
      throw new Error('the report failed');
    };

    await expect(storage.put(key, failing())).rejects.toThrow('the report failed');

    expect(await storage.stat(key)).toBeNull();
    expect(await readdir(join(root, 'progress-exhaust', 'r1'))).toEqual([]);
  });

  it('clears what a killed writer of the same key left behind, and nothing else', async () => {
    const folder = join(root, 'progress-exhaust', 'r1');
    await mkdir(folder, { recursive: true });
    const name = key.split('/').pop()!;
    await writeFile(join(folder, `.${name}.0123456789ab.tmp`), 'half a file');
    await writeFile(join(folder, '.other.zip.0123456789ab.tmp'), 'another key');

    await storage.put(key, Readable.from(['whole']));

    expect((await readdir(folder)).sort()).toEqual(['.other.zip.0123456789ab.tmp', name]);
  });

  it('keeps the previous file when a replacement fails', async () => {
    await storage.put(key, Readable.from(['good']));
    const failing = async function* (): AsyncGenerator<Uint8Array> {
      yield Buffer.from('bad');
      throw new Error('the report failed');
    };

    await expect(storage.put(key, failing())).rejects.toThrow('the report failed');

    expect((await buffer(await storage.open(key))).toString()).toBe('good');
  });

  it('lets go of the source when the file cannot be written', async () => {
    await storage.put('progress-exhaust', Readable.from(['a file where a folder should be']));
    const source = Readable.from([Buffer.from('zip')]);

    await expect(storage.put('progress-exhaust/r1/b1.zip', source)).rejects.toMatchObject({
      code: expect.stringMatching(/^(EEXIST|ENOTDIR)$/),
    });

    expect(source.destroyed).toBe(true);
  });

  it('answers a missing file with FILE_NOT_FOUND, a null stat and a false delete', async () => {
    await expect(storage.open(key)).rejects.toThrow(FileNotFoundError);
    await expect(storage.open(key)).rejects.toMatchObject({
      kind: 'not_found',
      code: 'FILE_NOT_FOUND',
    });
    expect(await storage.stat(key)).toBeNull();
    expect(await storage.delete(key)).toBe(false);
  });

  it('deletes a file', async () => {
    await storage.put(key, Readable.from(['bytes']));

    expect(await storage.delete(key)).toBe(true);

    expect(await storage.stat(key)).toBeNull();
  });

  it.each(['../outside.zip', 'a/../../outside.zip', '/etc/passwd', 'a\0b.zip', 'a//b.zip'])(
    'refuses the key %j before touching the disk',
    async (badKey) => {
      await expect(storage.put(badKey, Readable.from(['x']))).rejects.toMatchObject({
        code: 'INVALID_FILE_KEY',
      });
      await expect(storage.open(badKey)).rejects.toMatchObject({ code: 'INVALID_FILE_KEY' });
      await expect(storage.stat(badKey)).rejects.toMatchObject({ code: 'INVALID_FILE_KEY' });
      await expect(storage.delete(badKey)).rejects.toMatchObject({ code: 'INVALID_FILE_KEY' });
    },
  );
});

const key = 'progress-exhaust/r1/b1_progress_20260102.zip';
