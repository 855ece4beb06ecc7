import { Writable } from 'node:stream';
import { CsvRow } from '../../../src/exhausts/reports/csv-cells';
import { csvReadable, writeCsv } from '../../../src/exhausts/reports/csv-writer';
import { readAll } from './report-fixtures';

const HEADER = ['Name', 'Note'];

/** A Writable that keeps what it is given, as a file would. */
const memoryFile = (): { file: Writable; text: () => string } => {
  const chunks: Buffer[] = [];
  const file = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { file, text: () => Buffer.concat(chunks).toString('utf8') };
};

describe('CSV writer', () => {
  it('writes a header row and CRLF-terminated records', async () => {
    const text = await readAll(csvReadable(HEADER, [['Asha', 'fine']]));
    expect(text).toBe('Name,Note\r\nAsha,fine\r\n');
  });

  it('quotes commas, double quotes and line breaks (RFC 4180)', async () => {
    const rows: CsvRow[] = [
      ['Rao, Asha', 'said "hi"'],
      ['line one\nline two', 'a\r\nb'],
      ['', 'plain'],
    ];
    const text = await readAll(csvReadable(HEADER, rows));
    expect(text).toBe(
      'Name,Note\r\n' +
        '"Rao, Asha","said ""hi"""\r\n' +
        '"line one\nline two","a\r\nb"\r\n' +
        ',plain\r\n',
    );
  });

  it('neutralises formula cells in every row, the header included', async () => {
    const rows: CsvRow[] = [
      ['=SUM(A1:A9)', '+1'],
      ['-1', '@x'],
      ['\tx', '\rx'],
      ['=1,2', 'ok'],
    ];
    const text = await readAll(csvReadable(['=cmd', 'Note'], rows));
    expect(text).toBe(
      "'=cmd,Note\r\n" +
        "'=SUM(A1:A9),'+1\r\n" +
        "'-1,'@x\r\n" +
        // A cell holding CR is quoted as well as neutralised.
        '\'\tx,"\'\rx"\r\n' +
        '"\'=1,2",ok\r\n',
    );
  });

  it('writes UTF-8, with a byte order mark only when asked', async () => {
    const rows: CsvRow[] = [['ಕನ್ನಡ', 'हिन्दी']];
    const plain = await readAll(csvReadable(HEADER, rows));
    expect(plain).toBe('Name,Note\r\nಕನ್ನಡ,हिन्दी\r\n');

    const { file, text } = memoryFile();
    await writeCsv(HEADER, rows, file, { bom: true });
    expect(Buffer.from(text(), 'utf8').subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(text().slice(1)).toBe(plain);
  });

  it('writes a file with the header only when there are no rows', async () => {
    expect(await readAll(csvReadable(HEADER, []))).toBe('Name,Note\r\n');
  });

  it('writes to a Writable, ends it, and counts the rows', async () => {
    const { file, text } = memoryFile();
    const seen: number[] = [];
    async function* rows(): AsyncGenerator<CsvRow> {
      yield ['a', '1'];
      yield ['b', '2'];
    }
    const result = await writeCsv(HEADER, rows(), file, { onRow: (count) => seen.push(count) });
    expect(result).toEqual({ rows: 2 });
    expect(seen).toEqual([1, 2]);
    expect(file.writableFinished).toBe(true);
    expect(text()).toBe('Name,Note\r\na,1\r\nb,2\r\n');
  });

  it('streams: output flows before the source has ended', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ended = false;
    async function* rows(): AsyncGenerator<CsvRow> {
      yield ['first', '1'];
      await gate;
      yield ['second', '2'];
      ended = true;
    }
    const readable = csvReadable(HEADER, rows());
    readable.setEncoding('utf8');
    const iterator: AsyncIterator<unknown> = readable[Symbol.asyncIterator]();
    let early = '';
    while (!early.includes('first')) early += String((await iterator.next()).value);
    expect(ended).toBe(false);
    expect(early).toContain('Name,Note\r\n');
    release();
    let rest = '';
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      rest += String(next.value);
    }
    expect(ended).toBe(true);
    expect(early + rest).toBe('Name,Note\r\nfirst,1\r\nsecond,2\r\n');
  });

  it('stops pulling rows when the reader goes away', async () => {
    let closed = false;
    async function* endless(): AsyncGenerator<CsvRow> {
      try {
        for (let i = 0; ; i += 1) yield [`row ${i}`, 'x'];
      } finally {
        closed = true;
      }
    }
    const readable = csvReadable(HEADER, endless());
    for await (const chunk of readable) {
      expect(String(chunk)).toContain('Name');
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(true);
  });

  it('passes a failing source on to the reader and the destination', async () => {
    async function* failing(): AsyncGenerator<CsvRow> {
      yield ['a', '1'];
      throw new Error('read model gone');
    }
    await expect(readAll(csvReadable(HEADER, failing()))).rejects.toThrow('read model gone');
    const { file } = memoryFile();
    await expect(writeCsv(HEADER, failing(), file)).rejects.toThrow('read model gone');
    expect(file.destroyed).toBe(true);
  });

  it('refuses a row whose width is not the header’s', async () => {
    const { file } = memoryFile();
    await expect(writeCsv(HEADER, [['a', '1'], ['b']], file)).rejects.toThrow(
      'CSV row 2 has 1 cells, not 2',
    );
  });
});
