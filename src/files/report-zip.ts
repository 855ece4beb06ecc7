import { Readable } from 'node:stream';
import { ZipWriter } from '@zip.js/zip.js';

export interface ReportZipOptions {
  /** The CSV's file name inside the zip, e.g. `<batchId>_progress_<yyyyMMdd>.csv`. */
  entryName: string;
  /**
   * The requester's key: the entry is then AES-256 encrypted (WinZip AE-2) with it as the
   * password. Not ZipCrypto, which the reference used and which known-plaintext attacks break.
   */
  encryptionKey?: string;
  /** The entry's modification date; the time of zipping by default. */
  modifiedAt?: Date;
}

/** Text or bytes: a CSV writer may yield either. */
export type CsvSource = Readable | AsyncIterable<Uint8Array | string>;

// Bytes the zip may run ahead of its reader: enough to keep compression busy, small enough
// that a slow reader (a disk, a download) holds the zip back rather than filling memory.
const OUTPUT_HIGH_WATER_MARK = 256 * 1024;

/**
 * Zips one CSV entry as a stream: the CSV is read as the zip is consumed, so neither is ever whole
 * in memory. The stream errors if the source or the zipping fails, and destroying it stops the
 * zipping and the source.
 */
export const zipReport = (csv: CsvSource, options: ReportZipOptions): Readable => {
  const stop = new AbortController();
  const output = new BackpressuredReadable(() => stop.abort());
  const zip = new ZipWriter(output.sink(), {
    useWebWorkers: false,
    ...(options.encryptionKey === undefined
      ? {}
      : { password: options.encryptionKey, encryptionStrength: 3 as const }),
  });
  const entry = pullFrom(csv);
  zip
    .add(options.entryName, entry.stream, {
      lastModDate: options.modifiedAt ?? new Date(),
      signal: stop.signal,
    })
    .then(() => zip.close())
    .catch((error: unknown) => {
      entry.release();
      output.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  return output;
};

/** A Node stream fed through a web WritableStream (what zip.js writes to), honouring backpressure. */
class BackpressuredReadable extends Readable {
  private continueWriting: (() => void) | undefined;

  constructor(private readonly onDestroy: () => void) {
    super({ highWaterMark: OUTPUT_HIGH_WATER_MARK });
  }

  sink(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) => this.pushAndWait(chunk),
      close: () => void this.push(null),
      abort: (reason: unknown) =>
        void this.destroy(reason instanceof Error ? reason : new Error(String(reason))),
    });
  }

  override _read(): void {
    this.wake();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.onDestroy();
    this.wake();
    callback(error);
  }

  private pushAndWait(chunk: Uint8Array): Promise<void> | void {
    if (this.destroyed) throw new Error('The zip stream was destroyed');
    if (this.push(chunk)) return;
    return new Promise((resolve) => (this.continueWriting = resolve));
  }

  private wake(): void {
    const continueWriting = this.continueWriting;
    this.continueWriting = undefined;
    continueWriting?.();
  }
}

/**
 * The web stream zip.js reads, pulled from the source one chunk at a time, and a way to let go of
 * the source (a Readable is destroyed, a generator's `finally` runs) when the zipping fails.
 */
const pullFrom = (
  source: CsvSource,
): { stream: ReadableStream<Uint8Array>; release: () => void } => {
  // A Readable yields Buffers, or strings when it was given an encoding.
  const chunks = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  const release = (): void => void chunks.return?.()?.catch(() => undefined);
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done === true) controller.close();
      else
        controller.enqueue(
          typeof next.value === 'string' ? encoder.encode(next.value) : next.value,
        );
    },
    cancel: release,
  });
  return { stream, release };
};
