import { Actor, hasRole, isSystemAdmin } from '../../src/auth/principal';
import { SqlExecutor } from '../../src/database/sql-database';
import { Position, START } from '../../src/event-store/event-store.port';
import { ErasedEvent } from '../../src/publishing/learning-event.events';
import { readCheckpoint } from '../engine/checkpoints';
import { subscribedToEvent } from '../subscriptions/subscriptions.query';

export const LEARNING_EVENTS_READ_MODEL = 'learning-events';

export interface LearningEventRecord {
  EventId: string;
  PublisherProgramId: string;
  PublisherSystemId: string;
  EventType: string;
  PublisherEventId: string;
  PublisherParticipantId: string;
  PublisherEventCategory: { value: string; label: string | null } | null;
  PublisherEventData: Record<string, unknown>;
  EventStartUtc: string;
  EventEndUtc: string | null;
  CreatedUtc: string;
  AmendedUtc: string | null;
  RetractedUtc: string | null;
  /** Where the publication sits in the hub's order: the list's cursor. */
  position: Position;
}

interface LearningEventRow {
  event_id: string;
  program_id: string;
  system_id: string;
  event_type: string;
  publisher_event_id: string;
  participant_id: string;
  category_value: string | null;
  category_label: string | null;
  data: Record<string, unknown>;
  start_utc: Date;
  end_utc: Date | null;
  created_utc: Date;
  amended_utc: Date | null;
  retracted_utc: Date | null;
  published_position: string;
  [column: string]: unknown;
}

export interface LearningEventFilter {
  programId?: string;
  participantId?: string;
  category?: string;
  eventType?: string;
  /** CreatedUtc at or after. */
  from?: Date;
  /** CreatedUtc before. */
  to?: Date;
  includeRetracted?: boolean;
  after?: string;
  limit: number;
}

const iso = (value: Date | null): string | null =>
  value === null ? null : new Date(value).toISOString();

/**
 * Events the actor may see, in hub order: a publisher's (or its organisation admin's) own
 * programs' events; a subscriber's (or its admin's) events of the programs and categories its
 * approved subscriptions import; everything for a system admin.
 */
export const listLearningEvents = async (
  db: SqlExecutor,
  actor: Actor,
  filter: LearningEventFilter,
): Promise<LearningEventRecord[]> => {
  const { rows } = await db.query<LearningEventRow>(
    `SELECT e.* FROM learning_events e
      WHERE ($1::text IS NULL OR e.program_id = $1)
        AND ($2::text IS NULL OR e.participant_id = $2)
        AND ($3::text IS NULL OR e.category_value = $3)
        AND ($4::text IS NULL OR e.event_type = $4)
        AND ($5::timestamptz IS NULL OR e.created_utc >= $5)
        AND ($6::timestamptz IS NULL OR e.created_utc < $6)
        AND ($7 OR e.retracted_utc IS NULL)
        AND ($8::text IS NULL OR e.published_position > $8)
        AND ($9
             OR ($10 AND EXISTS (SELECT 1 FROM hub_programs p
                                  WHERE p.program_id = e.program_id AND p.organisation_id = $12))
             OR ($11 AND ${subscribedToEvent('$12', 'e.program_id', 'e.category_value')}))
      ORDER BY e.published_position LIMIT $13`,
    [
      filter.programId ?? null,
      filter.participantId ?? null,
      filter.category ?? null,
      filter.eventType ?? null,
      filter.from?.toISOString() ?? null,
      filter.to?.toISOString() ?? null,
      filter.includeRetracted ?? false,
      filter.after ?? null,
      isSystemAdmin(actor),
      hasRole(actor, 'PUBLISHER', 'ORG_ADMIN'),
      hasRole(actor, 'SUBSCRIBER', 'ORG_ADMIN'),
      actor.organisationId,
      filter.limit,
    ],
  );
  return rows.map((row) => ({
    EventId: row.event_id,
    PublisherProgramId: row.program_id,
    PublisherSystemId: row.system_id,
    EventType: row.event_type,
    PublisherEventId: row.publisher_event_id,
    PublisherParticipantId: row.participant_id,
    PublisherEventCategory:
      row.category_value === null ? null : { value: row.category_value, label: row.category_label },
    PublisherEventData: row.data,
    EventStartUtc: iso(row.start_utc)!,
    EventEndUtc: iso(row.end_utc),
    CreatedUtc: iso(row.created_utc)!,
    AmendedUtc: iso(row.amended_utc),
    RetractedUtc: iso(row.retracted_utc),
    position: row.published_position as Position,
  }));
};

/**
 * Where a replay "from this time" starts: after the publication of the program's last event
 * created before `time - marginMs`. Appends commit in about the order they were made, not exactly
 * (concurrent transactions), so the margin makes sure nothing recorded since `time` is left out;
 * a few events from just before it come again. Null: from the start.
 */
export const replayPositionAt = async (
  db: SqlExecutor,
  programId: string,
  time: Date,
  marginMs = 10_000,
): Promise<Position | null> => {
  const { rows } = await db.query<{ published_position: string }>(
    `SELECT published_position FROM learning_events
      WHERE program_id = $1 AND created_utc < $2 ORDER BY created_utc DESC LIMIT 1`,
    [programId, new Date(time.getTime() - marginMs).toISOString()],
  );
  return (rows[0]?.published_position as Position | undefined) ?? null;
};

/** The events of a program that name the participant now, or named it before a correction. */
export const eventsNamingParticipant = async (
  db: SqlExecutor,
  programId: string,
  participantId: string,
): Promise<ErasedEvent[]> => {
  const { rows } = await db.query<{ event_id: string; category_value: string | null }>(
    `SELECT event_id, category_value FROM learning_events
      WHERE program_id = $1 AND participant_id = $2
     UNION
     SELECT event_id, category_value FROM learning_events
      WHERE program_id = $1 AND previous_participant_ids IS NOT NULL
        AND $2 = ANY (previous_participant_ids)
     ORDER BY event_id`,
    [programId, participantId],
  );
  return rows.map((row) => ({ EventId: row.event_id, CategoryValue: row.category_value }));
};

/**
 * The events naming the participant as the read model knows them, and the position it had
 * applied up to before they were read: the log after it holds whatever the read model missed.
 */
export const eventsNamingParticipantAsOf = async (
  db: SqlExecutor,
  programId: string,
  participantId: string,
): Promise<{ appliedUpTo: Position | typeof START; events: ErasedEvent[] }> => {
  const checkpoint = await readCheckpoint(db, LEARNING_EVENTS_READ_MODEL);
  const events = await eventsNamingParticipant(db, programId, participantId);
  return { appliedUpTo: checkpoint?.position ?? START, events };
};
