import { Readable } from 'node:stream';
import { createMailer, MailLog, NullMailer, SmtpMailer } from '../../src/mail/mailer';

describe('createMailer', () => {
  it('drops mail when no SMTP_URL is configured', () => {
    expect(createMailer({ smtpUrl: undefined, from: 'hub@hub.example' })).toBeInstanceOf(
      NullMailer,
    );
    expect(createMailer({ smtpUrl: '', from: 'hub@hub.example' })).toBeInstanceOf(NullMailer);
  });

  it('sends through SMTP when SMTP_URL names a server', async () => {
    const mailer = createMailer({ smtpUrl: 'smtps://mail.example:465', from: 'hub@hub.example' });

    expect(mailer).toBeInstanceOf(SmtpMailer);
    await mailer.close();
  });

  it.each(['https://mail.example', 'mail.example:25', 'smtp//mail.example'])(
    'refuses the SMTP_URL %j',
    (smtpUrl) => {
      expect(() => new SmtpMailer(smtpUrl, 'hub@hub.example')).toThrow(/SMTP_URL/);
    },
  );

  it('does not repeat a refused URL, which may hold a password', () => {
    expect(() => new SmtpMailer('http://hub:p4ssw0rd@mail.example', 'hub@hub.example')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('p4ssw0rd') }),
    );
  });
});

describe('NullMailer', () => {
  it('logs the subject and the counts, not the addresses, and reports nothing delivered', async () => {
    const logged: unknown[][] = [];
    const log: MailLog = { log: (...entry: unknown[]) => void logged.push(entry) };
    const attachment = Readable.from([Buffer.from('zip')]);

    const sent = await new NullMailer(log).send({
      to: ['a@school.example', 'b@school.example'],
      subject: 'Your report is ready',
      text: 'https://hub.example/download?token=secret',
      attachments: [{ filename: 'r.zip', content: attachment }],
    });

    expect(sent).toEqual({ delivered: false, messageId: null });
    expect(logged).toEqual([
      [
        'Mail dropped: no SMTP_URL is configured',
        { subject: 'Your report is ready', recipients: 2, attachments: ['r.zip'] },
      ],
    ]);
    expect(JSON.stringify(logged)).not.toMatch(/school\.example|token/);
    expect(attachment.destroyed).toBe(true);
  });
});
