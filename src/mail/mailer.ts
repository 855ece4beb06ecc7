import { Readable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { createTransport } from 'nodemailer';
import { HubError } from '../errors/hub-error';

export interface MailAttachment {
  filename: string;
  /** A stream is read as the message is sent, so a file need not be held in memory. */
  content: Readable | Buffer;
  /** Derived from the file name when absent (`.zip` → application/zip). */
  contentType?: string;
}

export interface MailMessage {
  to: string | readonly string[];
  subject: string;
  text: string;
  html?: string;
  attachments?: readonly MailAttachment[];
}

export interface SentMail {
  /** False when no mail server is configured and the message was dropped. */
  delivered: boolean;
  messageId: string | null;
}

/** Sends the hub's e-mail (report ready, report failed). Throws MAIL_NOT_SENT when the server refuses or is unreachable. */
export interface Mailer {
  send(message: MailMessage): Promise<SentMail>;
  close(): Promise<void>;
}

export const MAILER = Symbol('MAILER');

export interface MailerConfig {
  /** `smtp://` or `smtps://`, with `user:password@` when the server asks for them; none drops mail. */
  smtpUrl: string | undefined;
  /** The sender, e.g. `Learning Hub <no-reply@hub.example>`. */
  from: string;
}

export type MailLog = Pick<Logger, 'log'>;

/** The SMTP mailer when a server is configured, the null mailer otherwise. */
export const createMailer = (config: MailerConfig, log: MailLog = new Logger('Mailer')): Mailer =>
  config.smtpUrl === undefined || config.smtpUrl === ''
    ? new NullMailer(log)
    : new SmtpMailer(config.smtpUrl, config.from);

// Bounded, so a dead server fails a job's mail step in seconds rather than nodemailer's minutes.
const CONNECTION_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 60_000;

const smtpTransport = (smtpUrl: string) =>
  createTransport({
    url: checkSmtpUrl(smtpUrl),
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: CONNECTION_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
  });

export class SmtpMailer implements Mailer {
  private readonly transport: ReturnType<typeof smtpTransport>;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = smtpTransport(smtpUrl);
  }

  async send(message: MailMessage): Promise<SentMail> {
    try {
      const sent = await this.transport.sendMail({
        from: this.from,
        to: [...recipients(message)],
        subject: message.subject,
        text: message.text,
        ...(message.html === undefined ? {} : { html: message.html }),
        attachments: (message.attachments ?? []).map((attachment) => ({ ...attachment })),
      });
      return { delivered: true, messageId: sent.messageId };
    } catch (error) {
      throw mailNotSent(error);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** Without a mail server (development, tests, a hub whose reports are only downloaded). */
export class NullMailer implements Mailer {
  constructor(private readonly log: MailLog = new Logger('Mailer')) {}

  async send(message: MailMessage): Promise<SentMail> {
    // Not the addresses: they are personal data, and logs outlive an erasure.
    this.log.log('Mail dropped: no SMTP_URL is configured', {
      subject: message.subject,
      recipients: recipients(message).length,
      attachments: (message.attachments ?? []).map((attachment) => attachment.filename),
    });
    // An unread file stream would hold its file open.
    for (const attachment of message.attachments ?? [])
      if (attachment.content instanceof Readable) attachment.content.destroy();
    return { delivered: false, messageId: null };
  }

  async close(): Promise<void> {}
}

const recipients = (message: MailMessage): readonly string[] =>
  typeof message.to === 'string' ? [message.to] : message.to;

/** The URL, if it names an SMTP server; the error never repeats it, since it may hold a password. */
const checkSmtpUrl = (smtpUrl: string): string => {
  let protocol: string;
  try {
    protocol = new URL(smtpUrl).protocol;
  } catch {
    throw new Error('SMTP_URL is not a URL');
  }
  if (protocol !== 'smtp:' && protocol !== 'smtps:')
    throw new Error(`SMTP_URL is smtp:// or smtps://, not ${protocol}//`);
  return smtpUrl;
};

/** Unavailable, so a caller retries; `responseCode` (when the server answered) tells a refusal from an outage. */
const mailNotSent = (error: unknown): HubError => {
  const responseCode =
    typeof error === 'object' && error !== null && 'responseCode' in error
      ? error.responseCode
      : undefined;
  return new HubError(
    'unavailable',
    'MAIL_NOT_SENT',
    'The mail server did not take the message',
    typeof responseCode === 'number' ? { responseCode } : {},
    { cause: error },
  );
};
