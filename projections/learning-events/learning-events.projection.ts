import { SqlExecutor } from '../../src/database/sql-database';
import {
  LEARNING_EVENT_STREAM_PREFIX,
  LearningEventContent,
  LearningEventEvent,
  PublisherCategoryEvent,
} from '../../src/publishing/learning-event.events';
import {
  defineProjection,
  HandlersOf,
  ProjectedEvent,
  ProjectionHandler,
} from '../engine/projection';
import { LEARNING_EVENTS_READ_MODEL } from './learning-events.query';

const schema = `
-- Version 1 kept the data as jsonb (nothing queries inside it; json is stored as written). Its
-- table is dropped rather than converted: the version change replays the read model anyway.
DO $$ BEGIN
  IF (SELECT data_type FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'learning_events'
         AND column_name = 'data') = 'jsonb' THEN
    DROP TABLE learning_events;
  END IF;
END $$;
CREATE TABLE IF NOT EXISTS learning_events (
  event_id text PRIMARY KEY,
  program_id text NOT NULL,
  publisher_event_id text NOT NULL,
  participant_id text NOT NULL,
  system_id text NOT NULL,
  event_type text NOT NULL,
  category_value text,
  category_label text,
  data json NOT NULL,
  start_utc timestamptz NOT NULL,
  end_utc timestamptz,
  created_utc timestamptz NOT NULL,
  amended_utc timestamptz,
  retracted_utc timestamptz,
  -- Where the publication sits in the hub's log: the order lists and feeds share.
  published_position text NOT NULL,
  revision bigint NOT NULL,
  -- Participants a correction moved the event away from: an erasure of any of them takes it.
  previous_participant_ids text[]
);
ALTER TABLE learning_events ADD COLUMN IF NOT EXISTS previous_participant_ids text[];
CREATE INDEX IF NOT EXISTS learning_events_program ON learning_events (program_id, published_position);
CREATE INDEX IF NOT EXISTS learning_events_previous_participants ON learning_events (program_id)
  WHERE previous_participant_ids IS NOT NULL;
CREATE INDEX IF NOT EXISTS learning_events_participant
  ON learning_events (program_id, participant_id, published_position);
CREATE INDEX IF NOT EXISTS learning_events_created ON learning_events (program_id, created_utc);
`;

/** A row folded from one batch of an event's stream; content is absent when only retracted. */
interface FoldedRow {
  eventId: string;
  published: boolean;
  content: (LearningEventContent & { CreatedUtc: string }) | null;
  amendedUtc: string | null;
  retractedUtc: string | null;
  publishedPosition: string | null;
  revision: bigint;
  /** Every participant the batch's publication and corrections named. */
  participants: Set<string>;
}

const fold = (events: readonly ProjectedEvent<LearningEventEvent>[]): FoldedRow[] => {
  const rows = new Map<string, FoldedRow>();
  for (const event of events) {
    const eventId = event.data.EventId;
    const row = rows.get(eventId) ?? {
      eventId,
      published: false,
      content: null,
      amendedUtc: null,
      retractedUtc: null,
      publishedPosition: null,
      revision: -1n,
      participants: new Set<string>(),
    };
    if (event.revision <= row.revision) continue;
    row.revision = event.revision;
    switch (event.type) {
      case 'LearningEventPublished':
        row.published = true;
        row.content = event.data;
        row.publishedPosition = event.position;
        row.participants.add(event.data.PublisherParticipantId);
        break;
      case 'LearningEventAmended':
        row.content = event.data;
        row.amendedUtc = event.data.AmendedUtc;
        row.participants.add(event.data.PublisherParticipantId);
        break;
      case 'LearningEventRetracted':
        row.retractedUtc = event.data.RetractedUtc;
        break;
      default: {
        const unknownEvent: never = event;
        throw new Error(`Unhandled event ${JSON.stringify(unknownEvent)}`);
      }
    }
    rows.set(eventId, row);
  }
  return [...rows.values()];
};

/** Byte order of UTF-8, as COLLATE "C" sorts. */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const record = (row: FoldedRow) => {
  const content = row.content;
  // Sorted, as the SQL merge sorts them, so a row is the same however the log was batched.
  const previous = [...row.participants]
    .filter((id) => id !== content?.PublisherParticipantId)
    .sort(byBytes);
  return {
    event_id: row.eventId,
    has_content: content !== null,
    program_id: content?.PublisherProgramId ?? null,
    publisher_event_id: content?.PublisherEventId ?? null,
    participant_id: content?.PublisherParticipantId ?? null,
    system_id: content?.PublisherSystemId ?? null,
    event_type: content?.EventType ?? null,
    category_value: content?.PublisherEventCategory?.value ?? null,
    category_label: content?.PublisherEventCategory?.label ?? null,
    data: content?.PublisherEventData ?? null,
    start_utc: content?.EventStartUtc ?? null,
    end_utc: content?.EventEndUtc ?? null,
    created_utc: content?.CreatedUtc ?? null,
    amended_utc: row.amendedUtc,
    retracted_utc: row.retractedUtc,
    published_position: row.publishedPosition,
    revision: row.revision.toString(),
    previous_participant_ids: previous.length > 0 ? previous : null,
  };
};

const RECORD_TYPE = `r(event_id text, has_content boolean, program_id text, publisher_event_id text,
  participant_id text, system_id text, event_type text, category_value text, category_label text,
  data json, start_utc timestamptz, end_utc timestamptz, created_utc timestamptz,
  amended_utc timestamptz, retracted_utc timestamptz, published_position text, revision bigint,
  previous_participant_ids text[])`;

/**
 * The participants an event named before, after a change to row `r` of row `e`: those it
 * named before and those the change moved it through, less the one it names now.
 */
const previousParticipants = (e: string, r: string) =>
  `NULLIF(ARRAY(SELECT d.p FROM (SELECT DISTINCT p FROM unnest(
       coalesce(${e}.previous_participant_ids, '{}') || coalesce(${r}.previous_participant_ids, '{}')
       || ARRAY[${e}.participant_id]) AS p
     WHERE p IS DISTINCT FROM coalesce(${r}.participant_id, ${e}.participant_id)) d
     ORDER BY d.p COLLATE "C"), '{}')`;

const CONTENT_COLUMNS = [
  'program_id',
  'publisher_event_id',
  'participant_id',
  'system_id',
  'event_type',
  'category_value',
  'category_label',
  'data',
  'start_utc',
  'end_utc',
];

/**
 * Set-based: publishing runs at thousands of events a second, so a batch is folded per event in
 * memory and written with two statements. Each row keeps the stream revision it reflects and
 * takes only later ones, so a batch applied twice changes nothing.
 */
const applyChanges = async (
  events: readonly ProjectedEvent<LearningEventEvent>[],
  tx: SqlExecutor,
): Promise<void> => {
  if (events.length === 0) return;
  const rows = fold(events);
  const published = rows.filter((row) => row.published).map(record);
  const changed = rows.filter((row) => !row.published).map(record);
  if (published.length > 0)
    await tx.query(
      `INSERT INTO learning_events (event_id, ${CONTENT_COLUMNS.join(', ')}, created_utc,
         amended_utc, retracted_utc, published_position, revision, previous_participant_ids)
       SELECT event_id, ${CONTENT_COLUMNS.join(', ')}, created_utc, amended_utc, retracted_utc,
              published_position, revision, previous_participant_ids
         FROM json_to_recordset($1::json) AS ${RECORD_TYPE}
       ON CONFLICT (event_id) DO UPDATE SET
         ${CONTENT_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')},
         amended_utc = EXCLUDED.amended_utc, retracted_utc = EXCLUDED.retracted_utc,
         revision = EXCLUDED.revision,
         previous_participant_ids = ${previousParticipants('learning_events', 'EXCLUDED')}
       WHERE learning_events.revision < EXCLUDED.revision`,
      [JSON.stringify(published)],
    );
  if (changed.length > 0)
    await tx.query(
      `UPDATE learning_events e SET
         ${CONTENT_COLUMNS.map((c) => `${c} = CASE WHEN r.has_content THEN r.${c} ELSE e.${c} END`).join(',\n         ')},
         amended_utc = coalesce(r.amended_utc, e.amended_utc),
         retracted_utc = coalesce(r.retracted_utc, e.retracted_utc),
         revision = r.revision,
         previous_participant_ids = ${previousParticipants('e', 'r')}
         FROM json_to_recordset($1::json) AS ${RECORD_TYPE}
        WHERE e.event_id = r.event_id AND e.revision < r.revision`,
      [JSON.stringify(changed)],
    );
};

/**
 * The batch in order, in stretches between erasures: each stretch is folded and written, then
 * the erasure after it deletes its rows. A publication after an erasure (the publisher sent the
 * event again, as a new stream) is then a row again.
 */
const applyBatch = async (
  events: readonly ProjectedEvent<PublisherCategoryEvent>[],
  tx: SqlExecutor,
): Promise<void> => {
  let stretch: ProjectedEvent<LearningEventEvent>[] = [];
  for (const recorded of events) {
    if (recorded.type !== 'ParticipantErased') {
      stretch.push(recorded);
      continue;
    }
    await applyChanges(stretch, tx);
    stretch = [];
    await tx.query('DELETE FROM learning_events WHERE event_id = ANY($1::text[])', [
      recorded.data.Events.map((erased) => erased.EventId),
    ]);
  }
  await applyChanges(stretch, tx);
};

const applyOne: ProjectionHandler<PublisherCategoryEvent> = (event, tx) => applyBatch([event], tx);

/** The current state of every published event: what GET /v1/events lists and filters. */
export const learningEventsProjection = defineProjection<PublisherCategoryEvent>({
  name: LEARNING_EVENTS_READ_MODEL,
  version: 3,
  schema,
  tables: ['learning_events'],
  batchSize: 2_000,
  streamNamePrefixes: [LEARNING_EVENT_STREAM_PREFIX],
  handlers: {
    LearningEventPublished: applyOne,
    LearningEventAmended: applyOne,
    LearningEventRetracted: applyOne,
    ParticipantErased: applyOne,
  } satisfies Required<HandlersOf<PublisherCategoryEvent>>,
  applyBatch,
});
