import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';

const SECRET_NAME = 'download-links';

/**
 * The secret behind download links and behind the report passwords waiting for their job: the
 * configured DOWNLOAD_LINK_SECRET, or one the hub makes once and keeps in its database, so that
 * every instance signs and opens alike and links outlive a restart.
 */
@Injectable()
export class ExhaustSecrets {
  private secret: Promise<string> | null = null;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {}

  linkSecret(): Promise<string> {
    this.secret ??= this.load().catch((error: unknown) => {
      this.secret = null;
      throw error;
    });
    return this.secret;
  }

  /** A report's password, sealed (AES-256-GCM) to wait in its job until the file is made. */
  async seal(password: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', await this.passwordKey(), iv);
    const sealed = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
    return [iv, cipher.getAuthTag(), sealed].map((part) => part.toString('base64url')).join('.');
  }

  async open(sealed: string): Promise<string> {
    const [iv, tag, data] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
    if (!iv || !tag || !data) throw new Error('A sealed report password is malformed');
    const decipher = createDecipheriv('aes-256-gcm', await this.passwordKey(), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  }

  private async passwordKey(): Promise<Buffer> {
    const derived = hkdfSync('sha256', await this.linkSecret(), '', 'report-passwords', 32);
    return Buffer.from(derived);
  }

  private async load(): Promise<string> {
    const configured = this.config.exhausts?.linkSecret;
    if (configured !== undefined) return configured;
    await this.db.query(
      'INSERT INTO hub_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [SECRET_NAME, randomBytes(32)],
    );
    const { rows } = await this.db.query<{ secret: Uint8Array }>(
      'SELECT secret FROM hub_secrets WHERE name = $1',
      [SECRET_NAME],
    );
    const secret = rows[0]?.secret;
    if (!secret) throw new Error('The download-link secret could not be stored');
    return Buffer.from(secret).toString('base64url');
  }
}
