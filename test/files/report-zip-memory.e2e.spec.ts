import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobReader, ZipReader } from '@zip.js/zip.js';

const DIST = join(__dirname, '..', '..', 'dist', 'src', 'files');
const CSV_BYTES = 50 * 1024 * 1024;

// Run in a process of its own (with --expose-gc), so that no other test's garbage counts: zips a
// generated CSV (pseudo-random rows, so it does not compress to nothing) with a key into the
// folder storage, and reports the most memory it held at once (heap and buffers right after a
// collection, sampled as the CSV is read) above what it held before, and the CSV's digest.
// Retained memory, not the resident set: V8 grows its heap for a fast allocator whatever is kept.
const ZIPPER = `
const { createHash } = require('node:crypto');
const { FolderStorage } = require(process.argv[1] + '/folder-storage.js');
const { zipReport } = require(process.argv[1] + '/report-zip.js');
const [root, key, total] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const held = () => {
  global.gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};
let peak = 0;
const csv = (size, digest) => (async function* () {
  let seed = 42, written = 0, chunks = 0;
  while (written < size) {
    if (digest && chunks++ % 25 === 0) peak = Math.max(peak, held());
    const rows = [];
    for (let row = 0; row < 1000; row += 1) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      rows.push('BatchId_b1,user-' + seed + ',' + (seed % 101) + ',' + ((seed >> 7) % 1000) + '\\r\\n');
    }
    const chunk = Buffer.from(rows.join('')).subarray(0, size - written);
    written += chunk.byteLength;
    digest?.update(chunk);
    yield chunk;
  }
})();
(async () => {
  const storage = new FolderStorage(root);
  const zip = (source) => storage.put(key, zipReport(source, { entryName: 'b1.csv', encryptionKey: 'k3y' }));
  await zip(csv(total / 10));
  const before = held();
  peak = before;
  const digest = createHash('sha256');
  const stored = await zip(csv(total, digest));
  process.stdout.write(JSON.stringify({ growth: peak - before, bytes: stored.bytes, sha256: digest.digest('hex') }));
})().catch((error) => { console.error(error); process.exit(1); });
`;

const zipInChild = (root: string, key: string) =>
  new Promise<{ growth: number; bytes: number; sha256: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '-e', ZIPPER, DIST, root, key, String(CSV_BYTES)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`zipper exited ${code}`)),
    );
  });

/** The zip's one entry, decrypted and inflated as a stream, measured and hashed. */
const unzippedDigest = async (path: string, password: string) => {
  const reader = new ZipReader(new BlobReader(await openAsBlob(path)));
  try {
    const [entry] = await reader.getEntries();
    if (entry === undefined || entry.directory) throw new Error('the zip holds no file');
    const digest = createHash('sha256');
    let bytes = 0;
    const sink = new WritableStream<Uint8Array>({
      write(chunk) {
        bytes += chunk.byteLength;
        digest.update(chunk);
      },
    });
    await entry.getData(sink, { password });
    return { bytes, sha256: digest.digest('hex') };
  } finally {
    await reader.close();
  }
};

describe('a report zipped into the folder storage', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'report-zip-memory-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('zips a 50 MB CSV with memory far below its size, and opens with the key', async () => {
    const key = 'progress-exhaust/r1/b1_progress_20260102.zip';

    const zipped = await zipInChild(root, key);

    expect(zipped.bytes).toBeGreaterThan(CSV_BYTES / 10);
    // A sanity check, not a benchmark: holding the zip would keep 13 MB, the CSV 50 MB.
    expect(zipped.growth).toBeLessThan(CSV_BYTES / 5);
    expect(await unzippedDigest(join(root, key), 'k3y')).toEqual({
      bytes: CSV_BYTES,
      sha256: zipped.sha256,
    });
  }, 120_000);
});
