import { hash } from 'node:crypto';
import { DomainEvent } from '../event-sourcing/decider';
import { PROGRAM_ID } from '../programs/program.decider';

/** The key of a subscription's fallback template; no category may take it. */
export const DEFAULT_TEMPLATE_KEY = '*_default';

export const LEARNING_EVENT_STREAM_PREFIX = 'learning-event-';

/**
 * The category of a publisher program's streams: every event it publishes, amends or retracts,
 * and nothing of any other program (program ids never contain '/'). Subscriptions of the event
 * store filter on it.
 */
export const publisherCategory = (programId: string): string =>
  `${LEARNING_EVENT_STREAM_PREFIX}${programId}/`;

/** `{PublisherProgramId}-{UUID}`, as the Learning Hub's EventId. */
export interface EventIdParts {
  programId: string;
  uuid: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const EVENT_ID = new RegExp(`^(.{1,25})-(${UUID})$`);
export const EVENT_ID_RULE =
  '{PublisherProgramId}-{UUID}, as returned when the event was published';

export const parseEventId = (eventId: string): EventIdParts | null => {
  const match = EVENT_ID.exec(eventId);
  if (!match || !PROGRAM_ID.test(match[1]!)) return null;
  return { programId: match[1]!, uuid: match[2]! };
};

/** One stream per published event: its publication, then its amendments and its retraction. */
export const learningEventStream = ({ programId, uuid }: EventIdParts): string =>
  `${publisherCategory(programId)}${uuid}`;

// Fixed for the life of the hub: EventIds derive from it.
const EVENT_ID_NAMESPACE = Buffer.from('4b1d7c2e9a5f4e3b8c6d0f1a2b3c4d5e', 'hex');

/**
 * The EventId of a program's event: a name-based UUID (RFC 9562 version 5) of the program and the
 * publisher's own id. The same pair always gets the same EventId, on every instance and every
 * event store, so a resend finds the stream the first send created instead of making a second.
 */
export const eventIdFor = (programId: string, publisherEventId: string): string => {
  const name = `${programId}\n${publisherEventId}`;
  const input = Buffer.allocUnsafe(EVENT_ID_NAMESPACE.length + Buffer.byteLength(name, 'utf8'));
  EVENT_ID_NAMESPACE.copy(input);
  input.write(name, EVENT_ID_NAMESPACE.length, 'utf8');
  // One-shot hashing: a Hash object per event was a measurable part of ingest.
  const digest = hash('sha1', input, 'buffer');
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.subarray(0, 16).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return `${programId}-${uuid}`;
};

export interface EventCategory {
  value: string;
  label: string | null;
}

/** What a publisher sends, field for field as the Learning Hub names them, normalised. */
export interface LearningEventContent {
  PublisherProgramId: string;
  PublisherSystemId: string;
  EventType: string;
  PublisherEventId: string;
  PublisherParticipantId: string;
  PublisherEventCategory: EventCategory | null;
  PublisherEventData: Record<string, unknown>;
  /** ISO 8601 in UTC with milliseconds. */
  EventStartUtc: string;
  EventEndUtc: string | null;
}

export type LearningEventPublished = DomainEvent<
  'LearningEventPublished',
  LearningEventContent & { EventId: string; CreatedUtc: string }
>;

/** A correction: the whole new content; the EventId and CreatedUtc stay. */
export type LearningEventAmended = DomainEvent<
  'LearningEventAmended',
  LearningEventContent & {
    EventId: string;
    CreatedUtc: string;
    AmendedUtc: string;
    /** The category before this amendment, so subscribers whose templates differ can tell. */
    PreviousCategoryValue: string | null;
  }
>;

export type LearningEventRetracted = DomainEvent<
  'LearningEventRetracted',
  {
    EventId: string;
    PublisherProgramId: string;
    PublisherSystemId: string;
    EventType: string;
    PublisherEventId: string;
    PublisherParticipantId: string;
    PublisherEventCategory: EventCategory | null;
    CreatedUtc: string;
    RetractedUtc: string;
  }
>;

export type LearningEventEvent =
  LearningEventPublished | LearningEventAmended | LearningEventRetracted;

export const LEARNING_EVENT_TYPES: readonly LearningEventEvent['type'][] = [
  'LearningEventPublished',
  'LearningEventAmended',
  'LearningEventRetracted',
];

/** An event an erasure took, with its category, so a subscriber hears only of those it imported. */
export interface ErasedEvent {
  EventId: string;
  CategoryValue: string | null;
}

/**
 * A participant's events were erased at the publisher's request: their streams are gone from the
 * log. It names the events, never the participant, so that it tells subscribers what to delete
 * without keeping what was erased.
 */
export type ParticipantErased = DomainEvent<
  'ParticipantErased',
  {
    ErasureId: string;
    PublisherProgramId: string;
    Events: ErasedEvent[];
    ErasedUtc: string;
  }
>;

/** Everything recorded in a publisher program's category. */
export type PublisherCategoryEvent = LearningEventEvent | ParticipantErased;

/**
 * One stream per erasure, in the program's category, so feeds and read models of the program
 * meet it in order after the events it erased.
 */
export const participantErasureStream = (programId: string, erasureId: string): string =>
  `${publisherCategory(programId)}erasure-${erasureId}`;
