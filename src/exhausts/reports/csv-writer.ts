import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { CsvRow, neutraliseFormula } from './csv-cells';

/**
 * Streaming CSV (RFC 4180, UTF-8): records end in CRLF as the RFC says, and a field holding a
 * comma, a double quote, CR or LF is quoted with its quotes doubled (csv-stringify decides). Rows
 * are pulled from the source only as fast as the reader takes the output, so a report of 100,000
 * learners is never held in memory.
 */
export interface CsvOptions {
  /**
   * Prepend the UTF-8 byte order mark. RFC 4180 has none and the reference wrote none, but Excel
   * only reads a file as UTF-8 (names in Devanagari, say) when it starts with one. Off by default.
   */
  bom?: boolean;
  /** Called after each data row has been handed to the encoder, with the rows so far. */
  onRow?: (rowsWritten: number) => void;
}

/** The header, then the rows; each checked against the header's width and neutralised. */
async function* records(
  header: CsvRow,
  rows: AsyncIterable<CsvRow> | Iterable<CsvRow>,
  onRow: ((rowsWritten: number) => void) | undefined,
): AsyncGenerator<string[]> {
  yield header.map(neutraliseFormula);
  let written = 0;
  for await (const row of rows) {
    // A row of another width would shift every later cell under the wrong column.
    if (row.length !== header.length) {
      throw new RangeError(`CSV row ${written + 1} has ${row.length} cells, not ${header.length}`);
    }
    yield row.map(neutraliseFormula);
    written += 1;
    onRow?.(written);
  }
}

/**
 * The CSV text as a Readable. An error from `rows` destroys the Readable with that error, so its
 * reader sees it; destroying the Readable early stops pulling from `rows` (its `return` runs).
 */
export const csvReadable = (
  header: CsvRow,
  rows: AsyncIterable<CsvRow> | Iterable<CsvRow>,
  options: CsvOptions = {},
): Readable => {
  const encoder = stringify({
    record_delimiter: 'windows',
    // With CRLF records, csv-stringify would leave a bare LF or CR unquoted, and readers that
    // split on either would see a new record there.
    quote_record_delimiter: true,
    bom: options.bom ?? false,
  });
  const source = Readable.from(records(header, rows, options.onRow));
  // pipeline passes a failure on by destroying the encoder with it: its reader gets the error,
  // so the rejection here has nothing left to report.
  pipeline(source, encoder).catch(() => undefined);
  return encoder;
};

/**
 * Writes the CSV to `destination` and ends it; resolves with the number of data rows once the
 * destination has taken everything, rejects (and destroys the streams) on the first error.
 */
export const writeCsv = async (
  header: CsvRow,
  rows: AsyncIterable<CsvRow> | Iterable<CsvRow>,
  destination: Writable,
  options: CsvOptions = {},
): Promise<{ rows: number }> => {
  let written = 0;
  const onRow = (count: number): void => {
    written = count;
    options.onRow?.(count);
  };
  await pipeline(csvReadable(header, rows, { ...options, onRow }), destination);
  return { rows: written };
};
