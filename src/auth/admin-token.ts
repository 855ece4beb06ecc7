import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubConfig } from '../config/hub-config';

export const ADMIN_TOKEN_FILE = 'admin-token';

const digest = (token: string): Buffer => createHash('sha256').update(token).digest();

/** The bootstrap system-admin credential; held only as a digest in memory. */
export class AdminToken {
  private constructor(private readonly expected: Buffer) {}

  static of(token: string): AdminToken {
    return new AdminToken(digest(token));
  }

  matches(token: string): boolean {
    return timingSafeEqual(digest(token), this.expected);
  }
}

/**
 * A system-admin credential of this process alone, made at start-up and never stored but in
 * DATA_DIR/hub.json (mode 0600) while the hub listens: how the CLI, which cannot open a DATA_DIR
 * the hub holds, acts through the hub instead. Whoever can read that file can read the database
 * beside it anyway.
 */
export class LocalAdminToken {
  readonly token = `lhl_${randomBytes(32).toString('base64url')}`;
  private readonly expected = AdminToken.of(this.token);

  matches(token: string): boolean {
    return this.expected.matches(token);
  }
}

/**
 * HUB_ADMIN_TOKEN when set. In embedded mode without it, a token is generated on first start,
 * kept in DATA_DIR (readable by the owner only) and printed once, so a fresh checkout can be
 * administered at all. Server deployments get no implicit admin: they set the variable or use
 * their identity provider.
 */
export const loadAdminToken = (
  config: HubConfig,
  announce: (message: string) => void,
): AdminToken | null => {
  if (config.adminToken !== undefined) return AdminToken.of(config.adminToken);
  if (config.storage.kind !== 'embedded') return null;
  const file = join(config.storage.dataDir, ADMIN_TOKEN_FILE);
  try {
    return AdminToken.of(readFileSync(file, 'utf8').trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = `lha_${randomBytes(32).toString('base64url')}`;
  mkdirSync(config.storage.dataDir, { recursive: true });
  // 'wx' fails if another process created it meanwhile; then its token is the one.
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return AdminToken.of(readFileSync(file, 'utf8').trim());
    throw error;
  }
  announce(
    `Generated a system-admin token (shown only this once; it is stored in ${file}):\n\n  ${token}\n\n` +
      `Use it as "Authorization: Bearer <token>" to create API keys: POST /v1/admin/api-keys.\n`,
  );
  return AdminToken.of(token);
};
