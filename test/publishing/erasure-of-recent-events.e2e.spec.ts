import { Client } from 'pg';
import { learningEvent, Parties, publishOne, setUpParties } from '../support/clearinghouse';
import { RunningHub, startHub } from '../support/hub-harness';
import {
  createScratchDatabase,
  postgresServer,
  ScratchDatabase,
  whyNoPostgresServer,
} from '../support/test-databases';

const unavailable = whyNoPostgresServer();
if (unavailable !== null)
  console.warn(
    `Skipping the erasure-of-recent-events tests (need a PostgreSQL server): ${unavailable}`,
  );

/**
 * An erasure covers every event acknowledged before it was asked for, however recent: published
 * a moment ago, behind another publisher's append still in flight, or while a transaction
 * elsewhere on the server holds back how far the log's order is settled.
 */
(unavailable === null ? describe : describe.skip)('erasure of events just published', () => {
  let hubDb: ScratchDatabase;
  let otherDb: ScratchDatabase;
  let stopServer: () => Promise<void>;
  let hub: RunningHub;
  let p: Parties;

  const publishThenErase = async (tag: string) => {
    const participantId = `${tag}@example.org`;
    const eventId = await publishOne(
      hub,
      p.publisher,
      learningEvent(p.publisherProgram, `pub-${tag}`, { participantId }),
    );
    const erasure = await hub.call(p.publisher, 'POST', '/v1/events/erasures', {
      PublisherProgramId: p.publisherProgram,
      PublisherParticipantId: participantId,
    });
    expect(erasure.status).toBe(200);
    return { eventId, erased: erasure.body.EventIds as string[] };
  };

  beforeAll(async () => {
    const server = await postgresServer();
    if ('unavailable' in server) throw new Error(server.unavailable);
    stopServer = server.stop;
    hubDb = await createScratchDatabase(server.url, 'erasure_recent');
    otherDb = await createScratchDatabase(server.url, 'erasure_recent_other');
    hub = await startHub({ kind: 'postgres', databaseUrl: hubDb.url });
    p = await setUpParties(hub, 'erarecent');
  });

  afterAll(async () => {
    await hub?.close();
    await hubDb?.drop();
    await otherDb?.drop();
    await stopServer?.();
  });

  it('erases an event published just before, with a transaction open in another database', async () => {
    const idle = new Client({ connectionString: otherDb.url });
    await idle.connect();
    await idle.query('BEGIN');
    await idle.query('SELECT txid_current()');
    try {
      for (let i = 0; i < 20; i++) {
        const { eventId, erased } = await publishThenErase(`idle-${i}`);
        expect(erased).toEqual([eventId]);
      }
    } finally {
      await idle.query('ROLLBACK');
      await idle.end();
    }
  });

  it('erases an event published just before, while other appends are in flight', async () => {
    let publishing = true;
    let background = 0;
    // Another participant's events, appended without pause, keep appends in flight.
    const load = (async () => {
      while (publishing)
        await Promise.all(
          Array.from({ length: 8 }, () =>
            publishOne(
              hub,
              p.publisher,
              learningEvent(p.publisherProgram, `load-${background++}`, {
                participantId: 'someone-else@example.org',
              }),
            ),
          ),
        );
    })();
    try {
      for (let i = 0; i < 100; i++) {
        const { eventId, erased } = await publishThenErase(`busy-${i}`);
        expect(erased).toEqual([eventId]);
      }
    } finally {
      publishing = false;
      await load;
    }
  });
});
