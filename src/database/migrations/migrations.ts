import { SqlDatabase } from '../sql-database';
import { eventStoreSchema } from './001-event-store';
import { projectionCheckpointsSchema } from './002-projection-checkpoints';
import { personalDataKeysSchema } from './003-personal-data-keys';
import { enrolmentJobsSchema } from './004-enrolment-jobs';
import { streamFillfactorSchema } from './005-stream-fillfactor';
import { appendKeyedStreamUpdatesSchema } from './006-append-keyed-stream-updates';
import { subscriptionDeliverySchema } from './007-subscription-delivery';
import { appendBatchSchema } from './008-append-batch';
import { lighterAppendSchema } from './009-lighter-append';
import { logBoundarySchema } from './010-log-boundary';
import { webhookOrderSchema } from './011-webhook-order';
import { projectionFailuresSchema } from './012-projection-failures';
import { jobsSchema } from './013-jobs';
import { hubSecretsSchema } from './014-hub-secrets';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Ordered, append-only: a released migration is never edited, a change is a new version. */
export const migrations: readonly Migration[] = [
  { version: 1, name: 'event-store', sql: eventStoreSchema },
  { version: 2, name: 'projection-checkpoints', sql: projectionCheckpointsSchema },
  { version: 3, name: 'personal-data-keys', sql: personalDataKeysSchema },
  { version: 4, name: 'enrolment-jobs', sql: enrolmentJobsSchema },
  { version: 5, name: 'stream-fillfactor', sql: streamFillfactorSchema },
  { version: 6, name: 'append-keyed-stream-updates', sql: appendKeyedStreamUpdatesSchema },
  { version: 7, name: 'subscription-delivery', sql: subscriptionDeliverySchema },
  { version: 8, name: 'append-batch', sql: appendBatchSchema },
  { version: 9, name: 'lighter-append', sql: lighterAppendSchema },
  { version: 10, name: 'log-boundary', sql: logBoundarySchema },
  { version: 11, name: 'webhook-order', sql: webhookOrderSchema },
  { version: 12, name: 'projection-failures', sql: projectionFailuresSchema },
  { version: 13, name: 'jobs', sql: jobsSchema },
  { version: 14, name: 'hub-secrets', sql: hubSecretsSchema },
];

// Any fixed key: it serialises concurrent hub start-ups on one database.
const MIGRATION_LOCK_KEY = 7_204_551_913;

export interface MigrationReport {
  applied: number[];
  current: number;
}

/**
 * Applies the migrations the database lacks, each in its own transaction, holding a session
 * advisory lock so two hubs starting together do not both apply one. `upTo` stops at a version:
 * a database as an older hub left it, to test the next migration on.
 */
export const runMigrations = async (
  db: SqlDatabase,
  options: { upTo?: number } = {},
): Promise<MigrationReport> => {
  const upTo = options.upTo ?? Number.POSITIVE_INFINITY;
  const session = await db.session();
  try {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await session.exec(`CREATE TABLE IF NOT EXISTS hub_schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = await session.query<{ version: number }>(
        'SELECT version FROM hub_schema_migrations',
      );
      const appliedBefore = new Set(done.rows.map((row) => Number(row.version)));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (appliedBefore.has(migration.version) || migration.version > upTo) continue;
        await db.transaction(async (tx) => {
          await tx.exec(migration.sql);
          await tx.query('INSERT INTO hub_schema_migrations (version, name) VALUES ($1, $2)', [
            migration.version,
            migration.name,
          ]);
        });
        applied.push(migration.version);
      }
      return { applied, current: Math.max(0, ...appliedBefore, ...applied) };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await session.release();
  }
};
