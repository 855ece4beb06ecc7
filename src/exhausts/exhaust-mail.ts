import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { readUserProfile } from '../../projections/users/users.query';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { FILE_STORAGE, FileStorage } from '../files/file-storage.port';
import { createMailer, MailAttachment, Mailer } from '../mail/mailer';
import { UserProfiles } from '../users/users.lookups';
import { ExhaustDownloads } from './exhaust-downloads';
import { ExhaustRequestState } from './exhaust-request.decider';

type Existing = Extract<ExhaustRequestState, { exists: true }>;

const DEFAULT_ATTACHMENT_MAX_BYTES = 5_242_880;

/**
 * Tells the requester their report is ready (a link per file, or the files themselves when
 * small enough) or that it failed. Mail is a courtesy: the report stands whether it goes or not,
 * so a refused or unreachable server is logged, never the job's failure.
 */
@Injectable()
export class ExhaustMail implements OnModuleDestroy {
  private readonly logger = new Logger('ExhaustMail');
  private readonly mailer: Mailer;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    @Inject(FILE_STORAGE) private readonly files: FileStorage,
    private readonly profiles: UserProfiles,
    private readonly downloads: ExhaustDownloads,
  ) {
    this.mailer = createMailer({
      smtpUrl: config.exhausts?.smtpUrl,
      from: config.exhausts?.mailFrom ?? 'Learning Hub <no-reply@localhost>',
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.mailer.close();
  }

  async ready(state: Existing): Promise<void> {
    const limit = this.config.exhausts?.attachmentMaxBytes ?? DEFAULT_ATTACHMENT_MAX_BYTES;
    const total = state.files.reduce((bytes, file) => bytes + file.bytes, 0);
    const attach = total <= limit;
    const lines: string[] = [];
    const attachments: MailAttachment[] = [];
    for (const file of state.files) {
      const name = file.key.split('/').pop() ?? 'report.zip';
      if (attach) attachments.push({ filename: name, content: await this.files.open(file.key) });
      const link = await this.downloads.link(state, file.batchId, state.request.requestedBy);
      lines.push(`${file.batchId}: ${file.rows} rows, ${link.url} (until ${link.expiresAt})`);
    }
    await this.send(
      state,
      `Your ${state.request.type} report is ready`,
      [
        `The ${state.request.type} report you asked for is ready${attach ? ', attached' : ''}.`,
        ...(state.request.encrypted ? ['The files open with the key you gave.'] : []),
        '',
        ...lines,
      ],
      attachments,
    );
  }

  async failed(state: Existing): Promise<void> {
    await this.send(state, `Your ${state.request.type} report could not be made`, [
      `The ${state.request.type} report you asked for failed: ${state.error ?? 'unknown error'}.`,
    ]);
  }

  private async send(
    state: Existing,
    subject: string,
    lines: string[],
    attachments: MailAttachment[] = [],
  ): Promise<void> {
    try {
      const to = await this.addressOf(state.request.requestedBy);
      if (to === null) {
        for (const attachment of attachments) destroy(attachment);
        return;
      }
      await this.mailer.send({ to, subject, text: lines.join('\n'), attachments });
    } catch (error) {
      for (const attachment of attachments) destroy(attachment);
      this.logger.warn(`The mail about report ${state.request.requestId} was not sent`, {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** The requester's e-mail address, from their profile; null when the hub holds none. */
  private async addressOf(userId: string): Promise<string | null> {
    const row = await readUserProfile(this.db, userId);
    if (row === null || row.personalErasedAt !== null) return null;
    return (await this.profiles.view(row)).email;
  }
}

const destroy = (attachment: MailAttachment): void => {
  if (!Buffer.isBuffer(attachment.content)) attachment.content.destroy();
};
