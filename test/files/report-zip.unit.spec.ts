import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { TextWriter, Uint8ArrayReader, ZipReader } from '@zip.js/zip.js';
import { zipReport } from '../../src/files/report-zip';

describe('zipReport', () => {
  it('zips the CSV as one plain entry', async () => {
    const zip = await buffer(zipReport(Readable.from([csv]), { entryName, modifiedAt }));

    const [entry, ...others] = await entriesOf(zip);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({ filename: entryName, encrypted: false });
    expect(await textOf(zip)).toBe(csv);
  });

  it('takes the CSV as text or bytes, in many chunks', async () => {
    const chunks = async function* (): AsyncGenerator<Uint8Array | string> {
      yield 'Batch Id,Progress\r\n';
      yield Buffer.from('BatchId_b1,50\r\n');
      yield 'BatchId_b2,100\r\n';
    };

    const zip = await buffer(zipReport(chunks(), { entryName }));

    expect(await textOf(zip)).toBe('Batch Id,Progress\r\nBatchId_b1,50\r\nBatchId_b2,100\r\n');
  });

  describe('with an encryption key', () => {
    const key = 'correct horse battery staple';
    const encrypted = (): Promise<Buffer> =>
      buffer(zipReport(Readable.from([csv]), { entryName, encryptionKey: key }));

    it('encrypts the entry with AES-256, which opens with the key', async () => {
      const zip = await encrypted();

      const [entry] = await entriesOf(zip);
      expect(entry).toMatchObject({ encrypted: true, zipCrypto: false });
      expect(await textOf(zip, key)).toBe(csv);
      // AES strength 3 (256-bit keys) is recorded in the entry's 0x9901 extra field.
      expect(
        zip.includes(Buffer.from([0x01, 0x99, 0x07, 0x00, 0x02, 0x00, 0x41, 0x45, 0x03])),
      ).toBe(true);
    });

    it('does not open without the key', async () => {
      await expect(textOf(await encrypted())).rejects.toThrow(/encrypted/i);
    });

    it('does not open with a wrong key', async () => {
      await expect(textOf(await encrypted(), 'Correct horse battery staple')).rejects.toThrow(
        /password/i,
      );
    });
  });

  it('fails the stream when the CSV source fails', async () => {
    const failing = async function* (): AsyncGenerator<string> {
      yield 'Batch Id\r\n';
      throw new Error('the read model went away');
    };

    await expect(buffer(zipReport(failing(), { entryName }))).rejects.toThrow(
      'the read model went away',
    );
  });

  it('stops reading the CSV when its reader gives up', async () => {
    let released = false;
    const endless = async function* (): AsyncGenerator<string> {
      try {
        for (;;) yield `${'x'.repeat(1000)}\r\n`;
      } finally {
        released = true;
      }
    };
    const zip = zipReport(endless(), { entryName });
    for await (const _chunk of zip) break;

    await waitUntil(() => released);
  });
});

const entryName = 'b1_progress_20260102.csv';
const modifiedAt = new Date('2026-01-02T03:04:05Z');
const csv =
  'Batch Id,User UUID,Name\r\nBatchId_b1,u1,Learner One\r\nBatchId_b1,u2,"Learner, Two"\r\n';

const entriesOf = async (zip: Uint8Array) => {
  const reader = new ZipReader(new Uint8ArrayReader(zip));
  try {
    return await reader.getEntries();
  } finally {
    await reader.close();
  }
};

const textOf = async (zip: Uint8Array, password?: string): Promise<string> => {
  const reader = new ZipReader(new Uint8ArrayReader(zip));
  try {
    const [entry] = await reader.getEntries();
    if (entry === undefined || entry.directory) throw new Error('the zip holds no file');
    return await entry.getData(new TextWriter(), password === undefined ? {} : { password });
  } finally {
    await reader.close();
  }
};

const waitUntil = async (condition: () => boolean): Promise<void> => {
  for (let tries = 0; !condition(); tries += 1) {
    if (tries > 100) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
