import { resolve } from 'node:path';
import { isValidTimeZone } from '../time/calendar';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export type StorageMode =
  | { kind: 'embedded'; dataDir: string }
  | { kind: 'postgres'; databaseUrl: string }
  | { kind: 'eventstoredb'; eventStoreUrl: string; databaseUrl: string };

export interface HubConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  storage: StorageMode;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  /** Events one projection transaction applies at most. */
  projectionBatchSize: number;
  /** Longest a graceful shutdown waits before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** IANA zone in which calendar dates (a batch's `2026-12-01`) begin and end. */
  timeZone: string;
  /** A bootstrap system-admin token; in embedded mode one is generated when this is unset. */
  adminToken?: string;
  /** Verifies JWTs from the deployment's identity provider; absent: only API keys are accepted. */
  oidc?: OidcConfig;
  /** Which attempt of an assessment counts for scores and certificates: the best or the last. */
  scorePolicy: 'best' | 'last';
  /** Streams whose folded state each instance keeps in memory (enrolments, batches, courses). */
  stateCacheSize: number;
  /**
   * Connections to the PostgreSQL server. Each projection's leader holds one for its lock, so
   * requests share what is left.
   */
  databasePoolSize: number;
}

export interface OidcConfig {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Claim naming the principal's organisation. */
  organisationClaim: string;
  /** Claim listing roles; Keycloak's `realm_access.roles` is read when it is absent. */
  rolesClaim: string;
}

export const HUB_CONFIG = Symbol('HUB_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and checks the environment, reporting every wrong value at once. */
export const loadConfig = (env: Env = process.env): HubConfig => {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(
        `${name} must be a URL such as ${protocols[0]}//host:port/..., got "${redact(raw)}"`,
      );
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      problems.push(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
      return undefined;
    }
    return raw;
  };

  const port = integer('PORT', 3000, 1, 65535);
  const logLevelRaw = text('LOG_LEVEL')?.toLowerCase() ?? 'info';
  const logLevel = LOG_LEVELS.includes(logLevelRaw as LogLevel)
    ? (logLevelRaw as LogLevel)
    : 'info';
  if (!LOG_LEVELS.includes(logLevelRaw as LogLevel))
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);

  const databaseUrl = url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const eventStoreUrl = url('EVENTSTORE_URL', [
    'esdb:',
    'esdb+discover:',
    'kurrentdb:',
    'kurrentdb+discover:',
  ]);
  const dataDir = resolve(text('DATA_DIR') ?? './data');
  let storage: StorageMode = { kind: 'embedded', dataDir };
  if (text('EVENTSTORE_URL') !== undefined) {
    if (text('DATABASE_URL') === undefined)
      problems.push(
        'EVENTSTORE_URL needs DATABASE_URL too: read models, checkpoints and jobs live in PostgreSQL',
      );
    else if (eventStoreUrl && databaseUrl)
      storage = { kind: 'eventstoredb', eventStoreUrl, databaseUrl };
  } else if (databaseUrl) {
    storage = { kind: 'postgres', databaseUrl };
  }

  const timeZone = text('HUB_TIMEZONE') ?? 'UTC';
  if (!isValidTimeZone(timeZone))
    problems.push(
      `HUB_TIMEZONE must be an IANA time zone such as UTC or Asia/Kolkata, got "${timeZone}"`,
    );

  const adminToken = text('HUB_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 24)
    problems.push('HUB_ADMIN_TOKEN must be at least 24 characters long');

  const jwksUrl = url('OIDC_JWKS_URL', ['https:', 'http:']);
  const issuer = text('OIDC_ISSUER');
  const audience = text('OIDC_AUDIENCE');
  let oidc: OidcConfig | undefined;
  const oidcGiven = [text('OIDC_JWKS_URL'), issuer, audience].filter((v) => v !== undefined);
  if (oidcGiven.length > 0 && oidcGiven.length < 3)
    problems.push('OIDC_JWKS_URL, OIDC_ISSUER and OIDC_AUDIENCE must be set together');
  else if (jwksUrl && issuer && audience)
    oidc = {
      jwksUrl,
      issuer,
      audience,
      organisationClaim: text('OIDC_ORG_CLAIM') ?? 'org',
      rolesClaim: text('OIDC_ROLES_CLAIM') ?? 'roles',
    };

  const scorePolicy = text('HUB_SCORE_POLICY')?.toLowerCase() ?? 'best';
  if (scorePolicy !== 'best' && scorePolicy !== 'last')
    problems.push(`HUB_SCORE_POLICY must be best or last, got "${env.HUB_SCORE_POLICY}"`);

  const config: HubConfig = {
    port,
    host: text('HOST') ?? '0.0.0.0',
    logLevel,
    storage,
    bodyLimitBytes: integer('BODY_LIMIT_BYTES', 1_048_576, 1_024, 104_857_600),
    projectionBatchSize: integer('PROJECTION_BATCH_SIZE', 500, 1, 10_000),
    shutdownTimeoutMs: integer('SHUTDOWN_TIMEOUT_MS', 25_000, 1_000, 600_000),
    timeZone,
    scorePolicy: scorePolicy === 'last' ? 'last' : 'best',
    stateCacheSize: integer('HUB_STATE_CACHE_SIZE', 200_000, 0, 10_000_000),
    databasePoolSize: integer('DATABASE_POOL_SIZE', 32, 12, 500),
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(oidc === undefined ? {} : { oidc }),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};

/** Hides the password of a connection string in messages and logs. */
export const redact = (connectionString: string): string =>
  connectionString.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
