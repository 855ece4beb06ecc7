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
  /** Publishers, subscribers and delivery: the Learning Hub clearinghouse. */
  clearinghouse: ClearinghouseConfig;
}

export interface ClearinghouseConfig {
  /** PublisherSystemId values accepted on publish. */
  publisherSystemIds: readonly string[];
  /** EventType values accepted on publish. */
  eventTypes: readonly string[];
  /** Largest PublisherEventData, as UTF-8 JSON. */
  eventDataMaxBytes: number;
  webhooks: WebhookConfig;
}

export interface WebhookConfig {
  /** Attempts per delivery before it moves to the dead-letter list (a subscription may set fewer or more). */
  maxAttempts: number;
  /** First retry delay; each further one doubles, up to backoffMaxMs, with jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long one POST may take before it counts as failed. */
  timeoutMs: number;
  /** Most feed items in one POST. */
  maxBatchSize: number;
  /** Whether webhook URLs may point at loopback, private or link-local addresses. */
  allowPrivateNetworks: boolean;
}

/** The LearningBuilder event types of the Learning Hub's event model. */
export const LEARNING_BUILDER_EVENT_TYPES = [
  'LPI_STARTED',
  'LPI_COMP_UNSUCCESS',
  'LPI_COMP_SUCCESS',
  'LPI_REOPENED',
  'AI_STARTED',
  'AI_COMP_UNSUCCESS',
  'AI_COMP_SUCCESS',
  'AI_REOPENED',
] as const;

export const defaultClearinghouseConfig = (): ClearinghouseConfig => ({
  publisherSystemIds: ['LB'],
  eventTypes: [...LEARNING_BUILDER_EVENT_TYPES],
  eventDataMaxBytes: 65_536,
  webhooks: {
    maxAttempts: 8,
    backoffBaseMs: 1_000,
    backoffMaxMs: 300_000,
    timeoutMs: 10_000,
    maxBatchSize: 100,
    allowPrivateNetworks: false,
  },
});

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

  const list = (name: string, fallback: readonly string[], maxLength: number): string[] => {
    const raw = text(name);
    if (raw === undefined) return [...fallback];
    const values = raw
      .split(',')
      .map((value) => value.trim())
      .filter((value) => value.length > 0);
    const tooLong = values.filter((value) => value.length > maxLength);
    if (values.length === 0 || tooLong.length > 0)
      problems.push(
        `${name} must be a comma-separated list of values of at most ${maxLength} characters, got "${raw}"`,
      );
    return values.length === 0 ? [...fallback] : values;
  };
  const flag = (name: string, fallback: boolean): boolean => {
    const raw = text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    problems.push(`${name} must be true or false, got "${env[name]}"`);
    return fallback;
  };
  const defaults = defaultClearinghouseConfig();
  const backoffBaseMs = integer(
    'HUB_WEBHOOK_BACKOFF_BASE_MS',
    defaults.webhooks.backoffBaseMs,
    10,
    3_600_000,
  );
  const backoffMaxMs = integer(
    'HUB_WEBHOOK_BACKOFF_MAX_MS',
    defaults.webhooks.backoffMaxMs,
    10,
    86_400_000,
  );
  if (backoffMaxMs < backoffBaseMs)
    problems.push('HUB_WEBHOOK_BACKOFF_MAX_MS must not be less than HUB_WEBHOOK_BACKOFF_BASE_MS');
  const clearinghouse: ClearinghouseConfig = {
    publisherSystemIds: list('HUB_PUBLISHER_SYSTEM_IDS', defaults.publisherSystemIds, 25),
    eventTypes: list('HUB_EVENT_TYPES', defaults.eventTypes, 50),
    eventDataMaxBytes: integer(
      'HUB_EVENT_DATA_MAX_BYTES',
      defaults.eventDataMaxBytes,
      256,
      1_048_576,
    ),
    webhooks: {
      maxAttempts: integer('HUB_WEBHOOK_MAX_ATTEMPTS', defaults.webhooks.maxAttempts, 1, 100),
      backoffBaseMs,
      backoffMaxMs,
      timeoutMs: integer('HUB_WEBHOOK_TIMEOUT_MS', defaults.webhooks.timeoutMs, 100, 120_000),
      maxBatchSize: integer('HUB_WEBHOOK_BATCH_SIZE', defaults.webhooks.maxBatchSize, 1, 1_000),
      allowPrivateNetworks: flag(
        'HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS',
        defaults.webhooks.allowPrivateNetworks,
      ),
    },
  };

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
    clearinghouse,
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(oidc === undefined ? {} : { oidc }),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};

/** Hides the password of a connection string in messages and logs. */
export const redact = (connectionString: string): string =>
  connectionString.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
