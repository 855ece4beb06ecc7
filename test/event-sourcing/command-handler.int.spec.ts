import { randomUUID } from 'node:crypto';
import { ulid } from 'ulid';
import { tallyStream } from '../support/tally.events';
import { RuleViolatedError, WrongExpectedRevisionError } from '../../src/errors/hub-error';
import { handleCommand } from '../../src/event-sourcing/command-handler';
import { EventStore } from '../../src/event-store/event-store.port';
import { SqlEventStore } from '../../src/event-store/sql/sql-event-store';
import { openTestSqlDatabase, TestSqlDatabase } from '../support/test-databases';
import { tallyDecider } from '../support/tally.decider';

describe('generic command handler', () => {
  let database: TestSqlDatabase;
  let store: SqlEventStore;
  const now = '2026-11-22T10:00:00.000Z';
  const openTallyCommand = (id: string) => ({
    type: 'OpenTally' as const,
    tallyId: id,
    name: 'n',
    now,
  });
  /** Opens a new tally and returns its id. */
  const openTally = async (): Promise<string> => {
    const id = ulid();
    await handleCommand(store, tallyStream(id), tallyDecider, openTallyCommand(id));
    return id;
  };

  beforeAll(async () => {
    database = await openTestSqlDatabase('commands');
    store = await SqlEventStore.open(database.db);
  });
  afterAll(async () => {
    await store.close();
    await database.dispose();
  });

  it('reads, folds, decides and appends with the revision it read', async () => {
    const id = await openTally();
    const outcome = await handleCommand(
      store,
      tallyStream(id),
      tallyDecider,
      { type: 'IncrementTally', tallyId: id, by: 2, now },
      {
        metadata: { correlationId: 'corr-1', principal: 'user-1', tenant: 'org-1' },
      },
    );
    expect(outcome.state).toEqual({ status: 'open', total: 2 });
    expect(outcome.appended?.nextExpectedRevision).toBe(1n);
    const events = await store.readStream(tallyStream(id));
    expect(events.map((e) => e.type)).toEqual(['TallyOpened', 'TallyIncremented']);
    expect(events[1]!.metadata).toEqual({
      correlationId: 'corr-1',
      principal: 'user-1',
      tenant: 'org-1',
    });
  });

  it('appends nothing when the decider decides nothing', async () => {
    const id = await openTally();
    const again = await handleCommand(store, tallyStream(id), tallyDecider, openTallyCommand(id));
    expect(again.appended).toBeNull();
    expect(await store.readStream(tallyStream(id))).toHaveLength(1);
  });

  it('lets domain errors through and writes nothing', async () => {
    const id = ulid();
    await expect(
      handleCommand(store, tallyStream(id), tallyDecider, {
        type: 'IncrementTally',
        tallyId: id,
        by: 1,
        now,
      }),
    ).rejects.toBeInstanceOf(RuleViolatedError);
    expect(await store.readStream(tallyStream(id))).toEqual([]);
  });

  /** A store on which another writer appends to the stream just before each of our appends. */
  const racingStore = (racesLeft: { n: number }): EventStore =>
    new Proxy(store, {
      get(target, property, receiver) {
        if (property !== 'appendToStream')
          return Reflect.get(target, property, receiver) as unknown;
        return async (...args: Parameters<EventStore['appendToStream']>) => {
          if (racesLeft.n > 0) {
            racesLeft.n--;
            await target.appendToStream(args[0], [
              {
                id: randomUUID(),
                type: 'TallyIncremented',
                data: { tallyId: 'x', by: 10, at: now },
              },
            ]);
          }
          return target.appendToStream(...args);
        };
      },
    });

  it('re-decides on the fresh stream after a revision conflict', async () => {
    const id = await openTally();
    const outcome = await handleCommand(racingStore({ n: 2 }), tallyStream(id), tallyDecider, {
      type: 'IncrementTally',
      tallyId: id,
      by: 1,
      now,
    });
    expect(outcome.state).toEqual({ status: 'open', total: 21 });
    expect((await store.readStream(tallyStream(id))).map((e) => e.revision)).toEqual([
      0n,
      1n,
      2n,
      3n,
    ]);
  });

  it('gives up after the bounded number of retries', async () => {
    const id = await openTally();
    await expect(
      handleCommand(
        racingStore({ n: 10 }),
        tallyStream(id),
        tallyDecider,
        { type: 'IncrementTally', tallyId: id, by: 1, now },
        { maxRetries: 2 },
      ),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
  });
});
