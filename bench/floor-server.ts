import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { learningEventsProjection } from '../projections/learning-events/learning-events.projection';
import { runMigrations } from '../src/database/migrations/migrations';
import { PostgresDatabase } from '../src/database/postgres-database';
import {
  eventIdFor,
  learningEventStream,
  parseEventId,
} from '../src/publishing/learning-event.events';

/**
 * The floor of the clearinghouse benchmark (`BENCH_FLOOR=1 npm run bench:hub`): the least any
 * implementation of publishing must do per event, on the hub's own tables, and nothing more.
 * It parses the request, checks the fields it stores, derives the EventId, and writes the
 * event's stream row, its log row and its read-model row in one statement per request: one
 * round trip and one commit (with HUB_FLOOR_WRITES=log, only the log rows). No credentials, no
 * program lookup, no decider, no coalescing of requests, no projection reading the log back,
 * no subscribers, and a resend is not answered (it is simply not stored). What the hub does above this is its own cost; what this costs is
 * the machine's and PostgreSQL's.
 */

interface Category {
  value: string;
  label?: string | null;
}

interface PublishedEvent {
  PublisherProgramId: string;
  PublisherSystemId: string;
  EventType: string;
  PublisherEventId: string;
  PublisherParticipantId: string;
  PublisherEventCategory?: Category;
  PublisherEventData: Record<string, unknown>;
  EventStartUtc: string;
  EventEndUtc?: string;
}

const text = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;

const isEvent = (value: unknown): value is PublishedEvent => {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  const category = e.PublisherEventCategory as Category | undefined;
  return (
    text(e.PublisherProgramId, 25) &&
    text(e.PublisherSystemId, 25) &&
    text(e.EventType, 50) &&
    text(e.PublisherEventId, 200) &&
    text(e.PublisherParticipantId, 200) &&
    (category === undefined || (typeof category === 'object' && text(category.value, 200))) &&
    typeof e.PublisherEventData === 'object' &&
    e.PublisherEventData !== null &&
    text(e.EventStartUtc, 40) &&
    (e.EventEndUtc === undefined || text(e.EventEndUtc, 40))
  );
};

const READ_MODEL_ROW = `r(stream text, event_id text, program_id text, publisher_event_id text,
  participant_id text, system_id text, event_type text, category_value text, category_label text,
  data json, start_utc timestamptz, end_utc timestamptz, created_utc timestamptz)`;

// The stream rows, then the log rows of the streams created, then their read-model rows.
const WRITE = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
    WITH ORDINALITY AS i(stream, id, data, metadata, k)
), streams AS (
  INSERT INTO hub_streams (stream_name, revision)
  SELECT stream, 0 FROM input ORDER BY stream
  ON CONFLICT (stream_name) DO NOTHING
  RETURNING stream_name
), logged AS (
  INSERT INTO hub_events (stream_name, stream_revision, event_id, event_type, data, metadata)
  SELECT i.stream, 0, i.id::uuid, 'LearningEventPublished', i.data::json, i.metadata::json
    FROM input i JOIN streams s ON s.stream_name = i.stream
   ORDER BY i.k
  RETURNING stream_name, transaction_id, global_position
)
INSERT INTO learning_events (event_id, program_id, publisher_event_id, participant_id, system_id,
  event_type, category_value, category_label, data, start_utc, end_utc, created_utc,
  published_position, revision)
SELECT r.event_id, r.program_id, r.publisher_event_id, r.participant_id, r.system_id,
       r.event_type, r.category_value, r.category_label, r.data, r.start_utc, r.end_utc,
       r.created_utc,
       -- The SQL store's position (encodeSqlPosition), as the projection records it.
       lpad(l.transaction_id::text, 20, '0') || ':' || lpad(l.global_position::text, 20, '0'), 0
  FROM json_to_recordset($5::json) AS ${READ_MODEL_ROW}
  JOIN logged l ON l.stream_name = r.stream
RETURNING event_id`;

// The bare log: the events' rows and nothing else (BENCH_FLOOR=log).
const WRITE_LOG_ONLY = `
INSERT INTO hub_events (stream_name, stream_revision, event_id, event_type, data, metadata)
SELECT i.stream, 0, i.id::uuid, 'LearningEventPublished', i.data::json, i.metadata::json
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
       WITH ORDINALITY AS i(stream, id, data, metadata, k)
 ORDER BY i.k
ON CONFLICT DO NOTHING
RETURNING stream_name`;

const LOG_ONLY = process.env.HUB_FLOOR_WRITES === 'log';

const main = async () => {
  const db = new PostgresDatabase(process.env.DATABASE_URL ?? '', {
    applicationName: 'hub-floor',
  });
  await runMigrations(db);
  await db.exec(learningEventsProjection.schema);

  /** Stores the events that pass the check; answers which were created, in request order. */
  const publish = async (events: readonly unknown[]) => {
    const createdUtc = new Date().toISOString();
    const metadata = JSON.stringify({ principal: 'floor', tenant: 'floor' });
    const streams: string[] = [];
    const ids: string[] = [];
    const documents: string[] = [];
    const metadatas: string[] = [];
    const rows: unknown[] = [];
    const eventIds: (string | null)[] = [];
    const eventIdOfStream = new Map<string, string>();
    for (const event of events) {
      if (!isEvent(event)) {
        eventIds.push(null);
        continue;
      }
      const eventId = eventIdFor(event.PublisherProgramId, event.PublisherEventId);
      const stream = learningEventStream(parseEventId(eventId)!);
      eventIds.push(eventId);
      eventIdOfStream.set(stream, eventId);
      streams.push(stream);
      ids.push(randomUUID());
      documents.push(JSON.stringify({ EventId: eventId, ...event, CreatedUtc: createdUtc }));
      metadatas.push(metadata);
      rows.push({
        stream,
        event_id: eventId,
        program_id: event.PublisherProgramId,
        publisher_event_id: event.PublisherEventId,
        participant_id: event.PublisherParticipantId,
        system_id: event.PublisherSystemId,
        event_type: event.EventType,
        category_value: event.PublisherEventCategory?.value ?? null,
        category_label: event.PublisherEventCategory?.label ?? null,
        data: event.PublisherEventData,
        start_utc: event.EventStartUtc,
        end_utc: event.EventEndUtc ?? null,
        created_utc: createdUtc,
      });
    }
    const created = new Set<string>();
    if (streams.length > 0 && LOG_ONLY) {
      const written = await db.query<{ stream_name: string }>(WRITE_LOG_ONLY, [
        streams,
        ids,
        documents,
        metadatas,
      ]);
      for (const row of written.rows) created.add(eventIdOfStream.get(row.stream_name)!);
    } else if (streams.length > 0) {
      const written = await db.query<{ event_id: string }>(WRITE, [
        streams,
        ids,
        documents,
        metadatas,
        JSON.stringify(rows),
      ]);
      for (const row of written.rows) created.add(row.event_id);
    }
    return { createdUtc, eventIds, created };
  };

  const app = Fastify({ bodyLimit: 16 * 1024 * 1024 });
  // The benchmark reads the learning-events projection's lag here; the floor writes its read
  // model with the event, so it is never behind.
  app.get('/health', () => ({
    status: 'ok',
    details: {
      projections: {
        projections: [
          {
            name: 'learning-events',
            state: 'live',
            eventsBehind: 0,
            secondsBehind: 0,
            lastError: null,
          },
        ],
      },
    },
  }));
  app.post('/v1/events/batch', async (request, reply) => {
    const events = request.body;
    if (!Array.isArray(events) || events.length === 0 || events.length > 1_000)
      return reply.status(400).send({ code: 'INVALID_BATCH' });
    const { eventIds, created } = await publish(events);
    const results = eventIds.map((EventId, index) =>
      EventId === null
        ? { index, status: 400, code: 'VALIDATION_FAILED' }
        : { index, status: created.has(EventId) ? 201 : 409, EventId },
    );
    const createdCount = results.filter((result) => result.status === 201).length;
    return {
      created: createdCount,
      duplicates: 0,
      failed: results.length - createdCount,
      results,
    };
  });
  app.post('/v1/events', async (request, reply) => {
    const { createdUtc, eventIds, created } = await publish([request.body]);
    const eventId = eventIds[0];
    if (!eventId) return reply.status(400).send({ code: 'VALIDATION_FAILED' });
    if (!created.has(eventId)) return reply.status(409).send({ code: 'not_stored' });
    return reply
      .status(201)
      .header('location', `/v1/events/${eventId}`)
      .send({ EventId: eventId, ...(request.body as object), CreatedUtc: createdUtc });
  });
  const close = () => {
    void app.close().then(() => db.close());
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
  await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' });
};

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
