import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { FolderStorage } from '../../src/files/folder-storage';

// The built adapter (`npm run build`), as the hub runs it, in a process this test kills.
const FOLDER_STORAGE = join(__dirname, '..', '..', 'dist', 'src', 'files', 'folder-storage.js');

// Replaces the file with an endless one, and says so once a first megabyte is on its way.
const WRITER = `
const { FolderStorage } = require(process.argv[1]);
const storage = new FolderStorage(process.argv[2]);
async function* endless() {
  for (let chunk = 0; ; chunk += 1) {
    if (chunk === 16) process.stdout.write('writing\\n');
    yield Buffer.alloc(64 * 1024, 'x');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
void storage.put(process.argv[3], endless());
`;

describe('FolderStorage, killed while writing', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'folder-storage-crash-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('still holds the previous file, whole, and takes the next one', async () => {
    const storage = new FolderStorage(root);
    const key = 'progress-exhaust/r1/b1_progress_20260301.zip';
    await storage.put(key, Readable.from(['the previous report']));

    await killWhileWriting(root, key);

    expect((await buffer(await storage.open(key))).toString()).toBe('the previous report');
    // The dead writer's temporary file stays behind, under a name no key can have.
    expect((await readdir(join(root, 'progress-exhaust', 'r1'))).sort()).toEqual([
      expect.stringMatching(/^\.b1_progress_20260301\.zip\.[0-9a-f]{12}\.tmp$/),
      'b1_progress_20260301.zip',
    ]);
    await storage.put(key, Readable.from(['the next report']));
    expect((await buffer(await storage.open(key))).toString()).toBe('the next report');
  });
});

const killWhileWriting = (root: string, key: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', WRITER, FOLDER_STORAGE, root, key], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.on('data', (data: Buffer) => {
      if (data.toString().includes('writing')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL'
        ? resolve()
        : reject(new Error(`the writer exited by itself (${signal})`)),
    );
  });
