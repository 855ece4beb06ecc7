import { BlobReader, TextWriter, Uint8ArrayReader, ZipReader } from '@zip.js/zip.js';

/** The one CSV in a report zip, opened with the password (or without one). */
export const csvIn = async (zip: Blob | Uint8Array, password?: string): Promise<string> => {
  const reader = new ZipReader(
    zip instanceof Blob ? new BlobReader(zip) : new Uint8ArrayReader(zip),
  );
  try {
    const [entry] = await reader.getEntries();
    if (!entry || entry.directory) throw new Error('the zip holds no file');
    return await entry.getData(new TextWriter(), password === undefined ? {} : { password });
  } finally {
    await reader.close();
  }
};
