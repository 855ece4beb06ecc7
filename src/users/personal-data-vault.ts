import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SQL_DATABASE, SqlExecutor } from '../database/sql-database';
import { SealedPersonalData } from './user.events';

/** The fields that identify a person. Everything else in a profile is not personal data. */
export interface PersonalData {
  name: string | null;
  email: string | null;
  phone: string | null;
  externalId: string | null;
}

export const NO_PERSONAL_DATA: PersonalData = {
  name: null,
  email: null,
  phone: null,
  externalId: null,
};

interface KeyRow {
  user_id: string;
  key_id: string;
  key: Buffer | Uint8Array;
  [column: string]: unknown;
}

const canonical = (data: PersonalData): string =>
  JSON.stringify([data.name, data.email, data.phone, data.externalId]);

// Binds a ciphertext to its user and key, so it cannot be replayed under another user's key.
const associatedData = (userId: string, keyId: string): Buffer =>
  Buffer.from(`${userId}\u0000${keyId}`);

const toBuffer = (bytes: Buffer | Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Crypto-shredding. Each user has one data key in `hub_personal_data_keys`; personal data is
 * sealed with it before it enters an event. Erasing deletes the key, after which every copy of
 * the ciphertext (events, read models, backups of either) opens to nothing, and a projection
 * rebuild cannot bring it back. A later profile gets a fresh key.
 */
@Injectable()
export class PersonalDataVault {
  constructor(@Inject(SQL_DATABASE) private readonly db: SqlExecutor) {}

  async seal(
    userId: string,
    data: PersonalData,
  ): Promise<{ sealed: SealedPersonalData; digest: string }> {
    const { keyId, key } = await this.keyFor(userId);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(associatedData(userId, keyId));
    const ciphertext = Buffer.concat([cipher.update(canonical(data), 'utf8'), cipher.final()]);
    return {
      sealed: {
        keyId,
        iv: iv.toString('base64'),
        ciphertext: ciphertext.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
      },
      // Keyed, so it compares snapshots without being a guessable hash of an email address.
      digest: createHmac('sha256', key).update(canonical(data)).digest('hex'),
    };
  }

  /** Opens sealed data; fields are blank (null) once the user's key has been erased. */
  async open(userId: string, sealed: SealedPersonalData | null): Promise<PersonalData> {
    const opened = await this.openMany([{ userId, sealed }]);
    return opened.get(userId) ?? NO_PERSONAL_DATA;
  }

  async openMany(
    entries: readonly { userId: string; sealed: SealedPersonalData | null }[],
  ): Promise<Map<string, PersonalData>> {
    const wanted = entries.filter((entry) => entry.sealed !== null);
    const keys = new Map<string, KeyRow>();
    if (wanted.length > 0) {
      const { rows } = await this.db.query<KeyRow>(
        'SELECT user_id, key_id, key FROM hub_personal_data_keys WHERE user_id = ANY($1::text[])',
        [wanted.map((entry) => entry.userId)],
      );
      for (const row of rows) keys.set(row.user_id, row);
    }
    const result = new Map<string, PersonalData>();
    for (const { userId, sealed } of entries) {
      const row = keys.get(userId);
      result.set(
        userId,
        sealed && row && row.key_id === sealed.keyId
          ? decrypt(userId, toBuffer(row.key), sealed)
          : NO_PERSONAL_DATA,
      );
    }
    return result;
  }

  /** Destroys the user's key. Idempotent. */
  async erase(userId: string): Promise<void> {
    await this.db.query('DELETE FROM hub_personal_data_keys WHERE user_id = $1', [userId]);
  }

  private async keyFor(userId: string): Promise<{ keyId: string; key: Buffer }> {
    await this.db.query(
      `INSERT INTO hub_personal_data_keys (user_id, key_id, key) VALUES ($1, $2, $3)
       ON CONFLICT (user_id) DO NOTHING`,
      [userId, randomUUID(), randomBytes(32)],
    );
    const { rows } = await this.db.query<KeyRow>(
      'SELECT user_id, key_id, key FROM hub_personal_data_keys WHERE user_id = $1',
      [userId],
    );
    const row = rows[0];
    // Erased between the two statements: the caller's request raced an erasure; seal again.
    if (!row) return this.keyFor(userId);
    return { keyId: row.key_id, key: toBuffer(row.key) };
  }
}

const decrypt = (userId: string, key: Buffer, sealed: SealedPersonalData): PersonalData => {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(associatedData(userId, sealed.keyId));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  const plain = Buffer.concat([
    decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
    decipher.final(),
  ]).toString('utf8');
  const [name, email, phone, externalId] = JSON.parse(plain) as (string | null)[];
  return {
    name: name ?? null,
    email: email ?? null,
    phone: phone ?? null,
    externalId: externalId ?? null,
  };
};
