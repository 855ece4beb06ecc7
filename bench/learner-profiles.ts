import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { PostgresDatabase } from '../src/database/postgres-database';
import { SqlEventStore } from '../src/event-store/sql/sql-event-store';
import { PersonalData, PersonalDataVault } from '../src/users/personal-data-vault';
import { UserProfileAttributes } from '../src/users/user.events';
import { fmtInt, progress } from './bench-support';

/** A profile's attributes with none given: what benches spread their own few over. */
export const NO_ATTRIBUTES: UserProfileAttributes = {
  userType: null,
  userSubType: null,
  state: null,
  district: null,
  block: null,
  cluster: null,
  schoolId: null,
  schoolName: null,
  organisationName: null,
};

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

/** A new stream and its events. */
export interface LearnerStream {
  stream: string;
  events: { type: string; data: Record<string, unknown> }[];
}

/**
 * Set-up, not measured: appends each learner's events (a new stream each, written by the hub
 * admin) straight to the store, 64 learners at a time. The vault is the hub's own, for sealing.
 */
export const appendPerLearner = async (
  url: string,
  count: number,
  label: string,
  eventsOf: (n: number, vault: PersonalDataVault) => Promise<LearnerStream[]>,
): Promise<void> => {
  const database = new PostgresDatabase(url, {
    maxConnections: 4,
    applicationName: 'hub-bench-setup',
  });
  const store = await SqlEventStore.open(database);
  const vault = new PersonalDataVault(database);
  try {
    await inParallel(count, 64, label, async (n) => {
      for (const { stream, events } of await eventsOf(n, vault)) {
        await store.appendToStream(
          stream,
          events.map(({ type, data }) => ({
            id: randomUUID(),
            type,
            data,
            metadata: { principal: 'hub-admin', tenant: 'system' },
          })),
          { expectedRevision: 'no_stream' },
        );
      }
    });
  } finally {
    await store.close();
    await database.close();
  }
};

/**
 * Set-up, not measured: appends the learners' profile events straight to the store and waits for
 * the users read model, which bulk enrolment (and reports) read. Personal data, when `personalOf`
 * gives some, is sealed with the hub's own vault, as the API would.
 */
export const recordLearnerProfiles = async (
  url: string,
  db: Client,
  learners: {
    count: number;
    idOf: (n: number) => string;
    organisationId: string;
    attributesOf: (n: number) => UserProfileAttributes;
    personalOf?: (n: number) => PersonalData | null;
  },
): Promise<void> => {
  progress(`recording ${fmtInt(learners.count)} learner profiles (set-up, not measured)`);
  await appendPerLearner(url, learners.count, 'profiles', async (n, vault) => {
    const userId = learners.idOf(n);
    const personal = learners.personalOf?.(n) ?? null;
    const sealed = personal === null ? null : await vault.seal(userId, personal);
    return [
      {
        stream: `user-${userId}`,
        events: [
          {
            type: 'UserProfileRecorded',
            data: {
              userId,
              organisationId: learners.organisationId,
              personal: sealed?.sealed ?? null,
              personalDigest: sealed?.digest ?? null,
              attributes: learners.attributesOf(n),
              recordedBy: 'hub-admin',
              recordedAt: new Date().toISOString(),
            },
          },
        ],
      },
    ];
  });
  for (;;) {
    const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM user_profiles');
    if (Number(rows[0]?.count) >= learners.count) break;
    await sleep(200);
  }
  progress('users read model has every learner');
};
