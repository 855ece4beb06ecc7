import { resolve } from 'node:path';
import { isValidTimeZone } from '../time/calendar';
import { LmsBackendSettings, parseLmsBackends } from './lms-backends';

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
   * Estimated MiB those enrolment states may take together (HUB_STATE_CACHE_MB): states differ in
   * size by ten times, so the count alone does not bound the memory. The least recently used go
   * first until both bounds hold.
   */
  stateCacheMb: number;
  /**
   * What they may keep while a memory-heavy job (a report) runs (HUB_STATE_CACHE_REPORT_MB): the
   * rest is dropped when it starts and the heap collected, so the report has the memory.
   */
  stateCacheReportMb: number;
  /**
   * How long a background job's claim lasts without a heartbeat: when an instance dies, another
   * resumes its jobs this long after (HUB_JOB_LEASE_MS); 15 s when unset.
   */
  jobLeaseMs?: number;
  /**
   * Connections to the PostgreSQL server: the only ones the hub opens. Two stay taken (the
   * session holding its advisory locks, and LISTEN); requests, projections and deliveries share
   * the rest, and a caller that waits too long for one gets 503.
   */
  databasePoolSize: number;
  /** A port serving GET /metrics without a credential (for a scraper on a private network). */
  metricsPort: number | null;
  /** The interface that port listens on. */
  metricsHost: string;
  /** Publishers, subscribers and delivery: the Learning Hub clearinghouse. */
  clearinghouse: ClearinghouseConfig;
  /** Report files, their download links and the mail that announces them. */
  exhausts?: ExhaustConfig;
  /** External LMSs enrolments are mirrored to. */
  lms: LmsConfig;
}

export const LMS_USERNAME_FIELDS = ['externalId', 'email', 'userId'] as const;

export interface LmsConfig {
  /** LMS_BACKENDS, in order: the first whose selector matches a resource link wins. */
  backends: LmsBackendSettings[];
  /** LMS_USERNAME_FIELD: the profile field that is the learner's LMS username. */
  usernameField: (typeof LMS_USERNAME_FIELDS)[number];
  /** LMS_CONCURRENCY: calls in flight per instance; 0 stops this instance mirroring. */
  concurrency: number;
  /** LMS_MAX_ATTEMPTS: attempts at one desired state before it waits for a new one. */
  maxAttempts: number;
  /** LMS_RETRY_BASE_MS and LMS_RETRY_MAX_MS: the back-off after the first failure, and its cap. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** LMS_LEASE_MS: how long a claimed pair stays this instance's without an outcome. */
  leaseMs: number;
}

export interface ExhaustConfig {
  /** Folder the report files are kept in (EXHAUST_DIR). */
  dir: string;
  /** SMTP_URL (smtp:// or smtps://); absent: mail is logged and dropped. */
  smtpUrl?: string;
  /** MAIL_FROM. */
  mailFrom: string;
  /** DOWNLOAD_LINK_SECRET (32+ bytes); absent: one the hub keeps in its database. */
  linkSecret?: string;
  /** DOWNLOAD_LINK_TTL_SECONDS, in milliseconds. */
  linkTtlMs: number;
  /** MAIL_ATTACHMENT_MAX_BYTES: a file up to this size goes with the mail, a larger one by link. */
  attachmentMaxBytes: number;
  /** PUBLIC_URL: where clients reach the hub, for links in mail. */
  publicUrl: string;
}

export interface ClearinghouseConfig {
  /** PublisherSystemId values accepted on publish. */
  publisherSystemIds: readonly string[];
  /** EventType values accepted on publish. */
  eventTypes: readonly string[];
  /** Largest PublisherEventData, as UTF-8 JSON. */
  eventDataMaxBytes: number;
  webhooks: WebhookConfig;
  templates: TemplateBudgetConfig;
}

/** What converting events with subscribers' templates may spend (README: "Templates"). */
export interface TemplateBudgetConfig {
  /** Per item: rendering time (compiling not included), characters of output, `each` iterations. */
  itemTimeoutMs: number;
  itemMaxChars: number;
  itemMaxIterations: number;
  /** Per page of items: their rendering time and characters of output together. */
  pageTimeoutMs: number;
  pageMaxChars: number;
  /** Render worker threads per process, and the heap (old generation) each may use. */
  workers: number;
  workerMemoryMb: number;
  /** How long a template that went over its time budget three times running is not run; 0: never. */
  quarantineMs: number;
}

export interface WebhookConfig {
  /**
   * The delays before each retry of a failed delivery, in ms (the first attempt is immediate),
   * each lengthened by up to a tenth at random. A delivery has one attempt more than there are
   * delays, unless its subscription sets maxAttempts: fewer stop early, more repeat the last delay.
   */
  retryScheduleMs: readonly number[];
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

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h later, as Standard Webhooks
 * services retry: a receiver may be down for a day (27.6 h) before a delivery runs out.
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5 * SECOND,
  5 * MINUTE,
  30 * MINUTE,
  2 * HOUR,
  5 * HOUR,
  10 * HOUR,
  10 * HOUR,
];

const DURATION_UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };
const RETRY_DELAY_MIN_MS = 10;
const RETRY_DELAY_MAX_MS = 7 * DAY;
const RETRY_SCHEDULE_MAX_LENGTH = 99;

/** `5s`, `30m`: the largest unit that divides the delay exactly. */
export const formatDuration = (ms: number): string => {
  for (const unit of ['d', 'h', 'm', 's'])
    if (ms % DURATION_UNITS[unit]! === 0) return `${ms / DURATION_UNITS[unit]!}${unit}`;
  return `${ms}ms`;
};

/** `5s,5m,30m` as milliseconds, or what is wrong with it. */
const parseDelays = (raw: string): number[] | string => {
  const entries = raw.split(',').map((entry) => entry.trim().toLowerCase());
  const delays = entries.map((entry) => {
    const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(entry);
    const ms = match ? Number(match[1]) * DURATION_UNITS[match[2]!]! : Number.NaN;
    return ms >= RETRY_DELAY_MIN_MS && ms <= RETRY_DELAY_MAX_MS ? ms : null;
  });
  const wrong = entries.filter((_, index) => delays[index] === null);
  if (wrong.length === 0 && entries.length <= RETRY_SCHEDULE_MAX_LENGTH) return delays as number[];
  return (
    `must be a comma-separated list of at most ${RETRY_SCHEDULE_MAX_LENGTH} delays such as ` +
    `5s,5m,30m,2h (units ms, s, m, h or d; each from ${formatDuration(RETRY_DELAY_MIN_MS)} to ` +
    `${formatDuration(RETRY_DELAY_MAX_MS)})` +
    (wrong.length > 0 ? `; not delays: ${wrong.map((entry) => `"${entry}"`).join(', ')}` : '')
  );
};

/**
 * The exponential back-off settings of earlier versions are refused rather than ignored: the
 * problem names the schedule that retries as they did.
 */
const replacedBackoffProblem = (text: (name: string) => string | undefined): string | null => {
  const settings = [
    ['HUB_WEBHOOK_MAX_ATTEMPTS', 8],
    ['HUB_WEBHOOK_BACKOFF_BASE_MS', 1_000],
    ['HUB_WEBHOOK_BACKOFF_MAX_MS', 300_000],
  ] as const;
  const set = settings.filter(([name]) => text(name) !== undefined).map(([name]) => name);
  if (set.length === 0) return null;
  const [attempts, base, max] = settings.map(([name, fallback]) => {
    const raw = text(name) ?? String(fallback);
    return /^\d{1,9}$/.test(raw) ? Number(raw) : 0;
  }) as [number, number, number];
  const retries = Math.min(attempts, RETRY_SCHEDULE_MAX_LENGTH + 1) - 1;
  const equivalent =
    retries > 0 && base > 0 && max > 0
      ? Array.from({ length: retries }, (_, n) =>
          formatDuration(Math.max(RETRY_DELAY_MIN_MS, Math.min(max, base * 2 ** n))),
        ).join(',')
      : null;
  return (
    `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} replaced by HUB_WEBHOOK_RETRY_SCHEDULE, ` +
    'the delays before each retry (a delivery has one attempt more than there are delays): unset ' +
    (set.length === 1 ? 'it' : 'them') +
    (equivalent === null
      ? ''
      : `, and set HUB_WEBHOOK_RETRY_SCHEDULE=${equivalent} to retry as before`)
  );
};

export const defaultClearinghouseConfig = (): ClearinghouseConfig => ({
  publisherSystemIds: ['LB'],
  eventTypes: [...LEARNING_BUILDER_EVENT_TYPES],
  eventDataMaxBytes: 65_536,
  webhooks: {
    retryScheduleMs: DEFAULT_RETRY_SCHEDULE_MS,
    timeoutMs: 10_000,
    maxBatchSize: 100,
    allowPrivateNetworks: false,
  },
  templates: {
    itemTimeoutMs: 100,
    itemMaxChars: 262_144,
    itemMaxIterations: 20_000,
    pageTimeoutMs: 1_000,
    pageMaxChars: 4_194_304,
    workers: 2,
    workerMemoryMb: 128,
    quarantineMs: 60_000,
  },
});

type IntegerSetting = (name: string, fallback: number, min: number, max: number) => number;

/** HUB_TEMPLATE_*: a page's budget must hold at least one item's. */
const loadTemplateBudgets = (integer: IntegerSetting, problems: string[]): TemplateBudgetConfig => {
  const defaults = defaultClearinghouseConfig().templates;
  const setting = (name: string, key: keyof TemplateBudgetConfig, min: number, max: number) =>
    integer(`HUB_TEMPLATE_${name}`, defaults[key], min, max);
  const budgets: TemplateBudgetConfig = {
    itemTimeoutMs: setting('ITEM_TIMEOUT_MS', 'itemTimeoutMs', 10, 60_000),
    itemMaxChars: setting('ITEM_MAX_CHARS', 'itemMaxChars', 1_024, 67_108_864),
    itemMaxIterations: setting('ITEM_MAX_ITERATIONS', 'itemMaxIterations', 1, 10_000_000),
    pageTimeoutMs: setting('PAGE_TIMEOUT_MS', 'pageTimeoutMs', 10, 600_000),
    pageMaxChars: setting('PAGE_MAX_CHARS', 'pageMaxChars', 1_024, 1_073_741_824),
    workers: setting('WORKERS', 'workers', 1, 64),
    workerMemoryMb: setting('WORKER_MEMORY_MB', 'workerMemoryMb', 16, 16_384),
    quarantineMs: setting('QUARANTINE_MS', 'quarantineMs', 0, 86_400_000),
  };
  if (budgets.pageTimeoutMs < budgets.itemTimeoutMs)
    problems.push(
      'HUB_TEMPLATE_PAGE_TIMEOUT_MS must not be less than HUB_TEMPLATE_ITEM_TIMEOUT_MS',
    );
  if (budgets.pageMaxChars < budgets.itemMaxChars)
    problems.push('HUB_TEMPLATE_PAGE_MAX_CHARS must not be less than HUB_TEMPLATE_ITEM_MAX_CHARS');
  return budgets;
};

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

/**
 * HUB_STATE_CACHE_MB when unset (BENCHMARKS.md "State cache by bytes"): 100,000 enrolments as
 * bench:enrolment leaves them are estimated at 80 MiB, and with 64 MiB its progress load at
 * 5,000 updates/s already fell behind (re-reading the evicted streams); with 96 it keeps up.
 */
export const DEFAULT_STATE_CACHE_MB = 96;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads settings from the environment, collecting every wrong value instead of stopping at one. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  text = (name: string): string | undefined => {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  };

  raw(name: string): string | undefined {
    return this.env[name];
  }

  integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };

  url(name: string, protocols: readonly string[]): string | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      this.problems.push(
        `${name} must be a URL such as ${protocols[0]}//host:port/..., got "${redact(raw)}"`,
      );
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
      return undefined;
    }
    return raw;
  }

  list(name: string, fallback: readonly string[], maxLength: number): string[] {
    const raw = this.text(name);
    if (raw === undefined) return [...fallback];
    const values = raw
      .split(',')
      .map((value) => value.trim())
      .filter((value) => value.length > 0);
    const tooLong = values.filter((value) => value.length > maxLength);
    if (values.length === 0 || tooLong.length > 0)
      this.problems.push(
        `${name} must be a comma-separated list of values of at most ${maxLength} characters, got "${raw}"`,
      );
    return values.length === 0 ? [...fallback] : values;
  }

  flag(name: string, fallback: boolean): boolean {
    const raw = this.text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name} must be true or false, got "${this.env[name]}"`);
    return fallback;
  }
}

const loadLogLevel = (env: EnvReader): LogLevel => {
  const given = env.text('LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (LOG_LEVELS.includes(given as LogLevel)) return given as LogLevel;
  env.problems.push(
    `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.raw('LOG_LEVEL')}"`,
  );
  return 'info';
};

/** DATABASE_URL, EVENTSTORE_URL and DATA_DIR: which of the three storage modes. */
const loadStorage = (env: EnvReader): StorageMode => {
  const databaseUrl = env.url('DATABASE_URL', ['postgres:', 'postgresql:']);
  const eventStoreUrl = env.url('EVENTSTORE_URL', [
    'esdb:',
    'esdb+discover:',
    'kurrentdb:',
    'kurrentdb+discover:',
  ]);
  if (env.text('EVENTSTORE_URL') !== undefined) {
    if (env.text('DATABASE_URL') === undefined)
      env.problems.push(
        'EVENTSTORE_URL needs DATABASE_URL too: read models, checkpoints and jobs live in PostgreSQL',
      );
    else if (eventStoreUrl && databaseUrl)
      return { kind: 'eventstoredb', eventStoreUrl, databaseUrl };
  } else if (databaseUrl) {
    return { kind: 'postgres', databaseUrl };
  }
  return { kind: 'embedded', dataDir: resolve(env.text('DATA_DIR') ?? './data') };
};

const loadOidc = (env: EnvReader): OidcConfig | undefined => {
  const jwksUrl = env.url('OIDC_JWKS_URL', ['https:', 'http:']);
  const issuer = env.text('OIDC_ISSUER');
  const audience = env.text('OIDC_AUDIENCE');
  const given = [env.text('OIDC_JWKS_URL'), issuer, audience].filter((v) => v !== undefined);
  if (given.length > 0 && given.length < 3) {
    env.problems.push('OIDC_JWKS_URL, OIDC_ISSUER and OIDC_AUDIENCE must be set together');
    return undefined;
  }
  if (!jwksUrl || !issuer || !audience) return undefined;
  return {
    jwksUrl,
    issuer,
    audience,
    organisationClaim: env.text('OIDC_ORG_CLAIM') ?? 'org',
    rolesClaim: env.text('OIDC_ROLES_CLAIM') ?? 'roles',
  };
};

/** HUB_WEBHOOK_*: the retry schedule (refusing the settings it replaced), timeout, batch size. */
const loadWebhooks = (env: EnvReader): ClearinghouseConfig['webhooks'] => {
  const defaults = defaultClearinghouseConfig().webhooks;
  const schedule = env.text('HUB_WEBHOOK_RETRY_SCHEDULE');
  const retryScheduleMs = schedule === undefined ? defaults.retryScheduleMs : parseDelays(schedule);
  if (typeof retryScheduleMs === 'string')
    env.problems.push(`HUB_WEBHOOK_RETRY_SCHEDULE ${retryScheduleMs}, got "${schedule}"`);
  const replacedBackoff = replacedBackoffProblem(env.text);
  if (replacedBackoff) env.problems.push(replacedBackoff);
  return {
    retryScheduleMs:
      typeof retryScheduleMs === 'string' ? defaults.retryScheduleMs : retryScheduleMs,
    timeoutMs: env.integer('HUB_WEBHOOK_TIMEOUT_MS', defaults.timeoutMs, 100, 120_000),
    maxBatchSize: env.integer('HUB_WEBHOOK_BATCH_SIZE', defaults.maxBatchSize, 1, 1_000),
    allowPrivateNetworks: env.flag(
      'HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS',
      defaults.allowPrivateNetworks,
    ),
  };
};

const loadClearinghouse = (env: EnvReader): ClearinghouseConfig => {
  const defaults = defaultClearinghouseConfig();
  return {
    publisherSystemIds: env.list('HUB_PUBLISHER_SYSTEM_IDS', defaults.publisherSystemIds, 25),
    eventTypes: env.list('HUB_EVENT_TYPES', defaults.eventTypes, 50),
    eventDataMaxBytes: env.integer(
      'HUB_EVENT_DATA_MAX_BYTES',
      defaults.eventDataMaxBytes,
      256,
      1_048_576,
    ),
    webhooks: loadWebhooks(env),
    templates: loadTemplateBudgets(env.integer, env.problems),
  };
};

/** HUB_TIMEZONE, HUB_ADMIN_TOKEN and HUB_SCORE_POLICY. */
const loadDomainSettings = (env: EnvReader) => {
  const timeZone = env.text('HUB_TIMEZONE') ?? 'UTC';
  if (!isValidTimeZone(timeZone))
    env.problems.push(
      `HUB_TIMEZONE must be an IANA time zone such as UTC or Asia/Kolkata, got "${timeZone}"`,
    );
  const adminToken = env.text('HUB_ADMIN_TOKEN');
  if (adminToken !== undefined && adminToken.length < 24)
    env.problems.push('HUB_ADMIN_TOKEN must be at least 24 characters long');
  const scorePolicy = env.text('HUB_SCORE_POLICY')?.toLowerCase() ?? 'best';
  if (scorePolicy !== 'best' && scorePolicy !== 'last')
    env.problems.push(
      `HUB_SCORE_POLICY must be best or last, got "${env.raw('HUB_SCORE_POLICY')}"`,
    );
  return { timeZone, adminToken, scorePolicy: scorePolicy === 'last' ? 'last' : 'best' } as const;
};

/** EXHAUST_DIR, SMTP_URL, MAIL_FROM, DOWNLOAD_LINK_*, MAIL_ATTACHMENT_MAX_BYTES, PUBLIC_URL. */
const loadExhausts = (env: EnvReader, storage: StorageMode, port: number): ExhaustConfig => {
  const smtpUrl = env.text('SMTP_URL');
  if (smtpUrl !== undefined && !/^smtps?:\/\//.test(smtpUrl))
    env.problems.push('SMTP_URL must be an smtp:// or smtps:// URL');
  const linkSecret = env.text('DOWNLOAD_LINK_SECRET');
  if (linkSecret !== undefined && Buffer.byteLength(linkSecret) < 32)
    env.problems.push('DOWNLOAD_LINK_SECRET must be at least 32 bytes long');
  const publicUrl = env.text('PUBLIC_URL') ?? `http://localhost:${port}`;
  if (!/^https?:\/\//.test(publicUrl)) env.problems.push('PUBLIC_URL must be an http(s) URL');
  const dataDir = storage.kind === 'embedded' ? storage.dataDir : resolve('./data');
  return {
    dir: resolve(env.text('EXHAUST_DIR') ?? `${dataDir}/exhaust`),
    mailFrom: env.text('MAIL_FROM') ?? 'Learning Hub <no-reply@localhost>',
    linkTtlMs: env.integer('DOWNLOAD_LINK_TTL_SECONDS', 604_800, 60, 31_536_000) * 1000,
    attachmentMaxBytes: env.integer('MAIL_ATTACHMENT_MAX_BYTES', 5_242_880, 0, 26_214_400),
    publicUrl: publicUrl.replace(/\/+$/, ''),
    ...(smtpUrl === undefined ? {} : { smtpUrl }),
    ...(linkSecret === undefined ? {} : { linkSecret }),
  };
};

export const defaultLmsConfig = (): LmsConfig => ({
  backends: [],
  usernameField: 'externalId',
  concurrency: 16,
  // From 250 ms doubling to 5 min: a 503 is tried again at once, an LMS down for most of an
  // hour is caught up with by itself, and 20 attempts span about 55 minutes.
  maxAttempts: 20,
  retryBaseMs: 250,
  retryMaxMs: 300_000,
  leaseMs: 60_000,
});

/** LMS_*: the backends (every problem of LMS_BACKENDS at once, secrets never shown) and pacing. */
const loadLms = (env: EnvReader): LmsConfig => {
  const { backends, problems } = parseLmsBackends(env.raw('LMS_BACKENDS'));
  env.problems.push(...problems);
  const usernameField = env.text('LMS_USERNAME_FIELD') ?? 'externalId';
  if (!(LMS_USERNAME_FIELDS as readonly string[]).includes(usernameField))
    env.problems.push(
      `LMS_USERNAME_FIELD must be one of ${LMS_USERNAME_FIELDS.join(', ')}, got "${usernameField}"`,
    );
  const slowestCallMs = Math.max(0, ...backends.map((backend) => backend.timeoutMs));
  const defaults = defaultLmsConfig();
  return {
    backends,
    usernameField: LMS_USERNAME_FIELDS.find((field) => field === usernameField) ?? 'externalId',
    concurrency: env.integer('LMS_CONCURRENCY', defaults.concurrency, 0, 256),
    maxAttempts: env.integer('LMS_MAX_ATTEMPTS', defaults.maxAttempts, 1, 100),
    retryBaseMs: env.integer('LMS_RETRY_BASE_MS', defaults.retryBaseMs, 10, 3_600_000),
    retryMaxMs: env.integer('LMS_RETRY_MAX_MS', defaults.retryMaxMs, 10, 86_400_000),
    // A lease outlives the read and the write it covers, so no other instance repeats them.
    leaseMs: Math.max(
      env.integer('LMS_LEASE_MS', defaults.leaseMs, 1_000, 3_600_000),
      3 * slowestCallMs,
    ),
  };
};

/** Reads and checks the environment, reporting every wrong value at once. */
export const loadConfig = (source: Env = process.env): HubConfig => {
  const env = new EnvReader(source);
  const port = env.integer('PORT', 3000, 1, 65535);
  const logLevel = loadLogLevel(env);
  const storage = loadStorage(env);
  const { timeZone, adminToken, scorePolicy } = loadDomainSettings(env);
  const oidc = loadOidc(env);
  const clearinghouse = loadClearinghouse(env);
  const config: HubConfig = {
    port,
    host: env.text('HOST') ?? '0.0.0.0',
    logLevel,
    storage,
    bodyLimitBytes: env.integer('BODY_LIMIT_BYTES', 1_048_576, 1_024, 104_857_600),
    projectionBatchSize: env.integer('PROJECTION_BATCH_SIZE', 500, 1, 10_000),
    shutdownTimeoutMs: env.integer('SHUTDOWN_TIMEOUT_MS', 25_000, 1_000, 600_000),
    timeZone,
    scorePolicy,
    stateCacheSize: env.integer('HUB_STATE_CACHE_SIZE', 200_000, 0, 10_000_000),
    stateCacheMb: env.integer('HUB_STATE_CACHE_MB', DEFAULT_STATE_CACHE_MB, 0, 65_536),
    stateCacheReportMb: env.integer('HUB_STATE_CACHE_REPORT_MB', 4, 0, 65_536),
    jobLeaseMs: env.integer('HUB_JOB_LEASE_MS', 15_000, 1_000, 600_000),
    databasePoolSize: env.integer('DATABASE_POOL_SIZE', 32, 12, 500),
    metricsPort:
      env.text('HUB_METRICS_PORT') === undefined
        ? null
        : env.integer('HUB_METRICS_PORT', 0, 1, 65535),
    metricsHost: env.text('HUB_METRICS_HOST') ?? '127.0.0.1',
    clearinghouse,
    exhausts: loadExhausts(env, storage, port),
    lms: loadLms(env),
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(oidc === undefined ? {} : { oidc }),
  };
  if (env.problems.length > 0) throw new ConfigError(env.problems);
  return config;
};

/** Hides the password of a connection string in messages and logs. */
export const redact = (connectionString: string): string =>
  connectionString.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
