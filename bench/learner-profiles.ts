import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { PostgresDatabase } from '../src/database/postgres-database';
import { SqlEventStore } from '../src/event-store/sql/sql-event-store';
import { UserProfileAttributes } from '../src/users/user.events';
import { fmtInt, progress } from './bench-support';

/** Runs `work` for every index with `concurrency` in flight, printing progress every 10 %. */
export const inParallel = async (
  count: number,
  concurrency: number,
  label: string,
  work: (index: number) => Promise<void>,
) => {
  let next = 0;
  let done = 0;
  const step = Math.max(1, Math.floor(count / 10));
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next++;
        await work(index);
        if (++done % step === 0) progress(`${label}: ${fmtInt(done)} / ${fmtInt(count)}`);
      }
    }),
  );
};

/**
 * Set-up, not measured: appends the learners' profile events straight to the store (the API
 * would seal personal data per learner, which the benchmarks do not exercise) and waits for the
 * users read model, which bulk enrolment (and reports) read.
 */
export const recordLearnerProfiles = async (
  url: string,
  db: Client,
  learners: {
    count: number;
    idOf: (n: number) => string;
    organisationId: string;
    attributesOf: (n: number) => UserProfileAttributes;
  },
): Promise<void> => {
  progress(`recording ${fmtInt(learners.count)} learner profiles (set-up, not measured)`);
  const database = new PostgresDatabase(url, {
    maxConnections: 4,
    applicationName: 'hub-bench-setup',
  });
  const store = await SqlEventStore.open(database);
  try {
    await inParallel(learners.count, 64, 'profiles', async (n) => {
      const userId = learners.idOf(n);
      await store.appendToStream(
        `user-${userId}`,
        [
          {
            id: randomUUID(),
            type: 'UserProfileRecorded',
            data: {
              userId,
              organisationId: learners.organisationId,
              personal: null,
              personalDigest: null,
              attributes: learners.attributesOf(n),
              recordedBy: 'hub-admin',
              recordedAt: new Date().toISOString(),
            },
            metadata: { principal: 'hub-admin', tenant: 'system' },
          },
        ],
        { expectedRevision: 'no_stream' },
      );
    });
  } finally {
    await store.close();
    await database.close();
  }
  for (;;) {
    const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM user_profiles');
    if (Number(rows[0]?.count) >= learners.count) break;
    await sleep(200);
  }
  progress('users read model has every learner');
};
