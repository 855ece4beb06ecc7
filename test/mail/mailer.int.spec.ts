import { mkdtemp, rm } from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { SMTPServer, SMTPServerOptions } from 'smtp-server';
import { FolderStorage } from '../../src/files/folder-storage';
import { zipReport } from '../../src/files/report-zip';
import { SmtpMailer } from '../../src/mail/mailer';
import { csvIn } from '../support/report-zips';

describe('SmtpMailer', () => {
  let received: ReceivedMail[];
  let server: SMTPServer;
  let port: number;
  let mailer: SmtpMailer;

  const startServer = async (options: SMTPServerOptions = {}): Promise<void> => {
    server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        void text(stream).then((raw) => {
          const to = session.envelope.rcptTo.map((recipient) => recipient.address);
          received.push({ raw, to, user: session.user });
          callback();
        }, callback);
      },
      ...options,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  };

  beforeEach(() => {
    received = [];
  });
  afterEach(async () => {
    await mailer.close();
    if (server.server.listening)
      await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the link and the report attached, as the same bytes', async () => {
    await startServer();
    mailer = new SmtpMailer(`smtp://127.0.0.1:${port}`, 'Learning Hub <hub@hub.example>');
    const folder = await mkdtemp(join(tmpdir(), 'mailer-'));
    try {
      const storage = new FolderStorage(folder);
      const csv = 'Batch Id,User UUID\r\nBatchId_b1,u1\r\n';
      const zip = zipReport(Readable.from([csv]), { entryName: 'b1.csv', encryptionKey: 'k3y' });
      await storage.put(key, zip);
      const zipBytes = await buffer(await storage.open(key));

      const sent = await mailer.send({
        to: 'mentor@school.example',
        subject: 'Your progress report is ready',
        text: `Download it within 7 days: ${link}`,
        html: `<p><a href="${link}">Download</a></p>`,
        attachments: [{ filename: 'b1_progress_20260301.zip', content: await storage.open(key) }],
      });

      expect(sent).toEqual({ delivered: true, messageId: expect.stringMatching(/^<.+>$/) });
      const [mail] = received;
      expect(mail?.to).toEqual(['mentor@school.example']);
      const message = parseMime(mail?.raw ?? '');
      expect(message.headers.get('subject')).toBe('Your progress report is ready');
      expect(message.headers.get('from')).toBe('Learning Hub <hub@hub.example>');
      const parts = leavesOf(message);
      expect(decodedText(partOfType(parts, 'text/plain'))).toContain(link);
      expect(decodedText(partOfType(parts, 'text/html'))).toContain(`href="${link}"`);
      const attachment = partOfType(parts, 'application/zip');
      expect(attachment.headers.get('content-disposition')).toMatch(
        /^attachment; filename=b1_progress_20260301\.zip$/,
      );
      const attached = decodedBytes(attachment);
      expect(attached.equals(zipBytes)).toBe(true);
      expect(await csvIn(attached, 'k3y')).toBe(csv);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('sends to several recipients, an attachment given as bytes', async () => {
    await startServer();
    mailer = new SmtpMailer(`smtp://127.0.0.1:${port}`, 'hub@hub.example');
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);

    await mailer.send({
      to: ['a@school.example', 'b@school.example'],
      subject: 'Report',
      text: 'Attached.',
      attachments: [{ filename: 'r.zip', content: bytes }],
    });

    expect(received[0]?.to).toEqual(['a@school.example', 'b@school.example']);
    const attachment = partOfType(leavesOf(parseMime(received[0]?.raw ?? '')), 'application/zip');
    expect(decodedBytes(attachment).equals(bytes)).toBe(true);
  });

  it('authenticates with the user and password of the URL', async () => {
    await startServer({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'hub' && auth.password === 's3cret/pass')
          callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
    });
    mailer = new SmtpMailer(
      `smtp://hub:${encodeURIComponent('s3cret/pass')}@127.0.0.1:${port}`,
      'hub@hub.example',
    );

    await mailer.send({ to: 'a@school.example', subject: 'Hello', text: 'Hi' });

    expect(received[0]?.user).toBe('hub');
  });

  it('answers a refused recipient with MAIL_NOT_SENT and the server response code', async () => {
    await startServer({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
      },
    });
    mailer = new SmtpMailer(`smtp://127.0.0.1:${port}`, 'hub@hub.example');

    await expect(
      mailer.send({ to: 'nobody@school.example', subject: 'Hello', text: 'Hi' }),
    ).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'MAIL_NOT_SENT',
      details: { responseCode: 550 },
    });
    expect(received).toEqual([]);
  });

  it('answers an unreachable server with MAIL_NOT_SENT', async () => {
    await startServer();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    mailer = new SmtpMailer(`smtp://127.0.0.1:${port}`, 'hub@hub.example');

    await expect(
      mailer.send({ to: 'a@school.example', subject: 'Hello', text: 'Hi' }),
    ).rejects.toMatchObject({ code: 'MAIL_NOT_SENT', details: {} });
  });
});

const key = 'progress-exhaust/r1/b1_progress_20260301.zip';
const link = `https://hub.example/v1/jobs/r1/download?token=v1.${'A'.repeat(90)}.1772409600.${'x_-'.repeat(14)}`;

interface ReceivedMail {
  raw: string;
  to: string[];
  user: unknown;
}

interface MimePart {
  headers: Map<string, string>;
  body: string;
  parts: MimePart[];
}

/** Enough of RFC 2045/2046 for the messages nodemailer writes (mailparser is not a dependency). */
const parseMime = (raw: string): MimePart => {
  const split = raw.indexOf('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of raw
    .slice(0, split)
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const body = raw.slice(split + 4);
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  const parts =
    boundary === undefined
      ? []
      : body
          .split(`--${boundary}`)
          .slice(1, -1)
          .map((part) => parseMime(part.replace(/^\r\n/, '')));
  return { headers, body, parts };
};

const leavesOf = (part: MimePart): MimePart[] =>
  part.parts.length === 0 ? [part] : part.parts.flatMap(leavesOf);

const partOfType = (parts: MimePart[], type: string): MimePart => {
  const found = parts.find((part) => part.headers.get('content-type')?.startsWith(type));
  if (found === undefined) throw new Error(`the message has no ${type} part`);
  return found;
};

const decodedBytes = (part: MimePart): Buffer => {
  const encoding = part.headers.get('content-transfer-encoding') ?? '7bit';
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64');
  if (encoding === 'quoted-printable')
    return Buffer.from(
      part.body
        .replace(/=\r\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_match, hex: string) =>
          String.fromCharCode(parseInt(hex, 16)),
        ),
      'latin1',
    );
  return Buffer.from(part.body);
};

const decodedText = (part: MimePart): string => decodedBytes(part).toString('utf8');
