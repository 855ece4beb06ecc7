import { ClearinghouseConfig } from '../config/hub-config';
import { jsonHasNul } from '../event-store/event-validation';
import { FieldIssue } from '../errors/hub-error';
import { PROGRAM_ID, PROGRAM_ID_RULE } from '../programs/program.decider';
import { parseIsoInstant } from '../time/calendar';
import { DEFAULT_TEMPLATE_KEY, EventCategory, LearningEventContent } from './learning-event.events';

const FIELDS = new Set([
  'PublisherProgramId',
  'PublisherSystemId',
  'EventType',
  'PublisherEventId',
  'PublisherParticipantId',
  'PublisherEventCategory',
  'PublisherEventData',
  'EventStartUtc',
  'EventEndUtc',
]);
const ASSIGNED_BY_HUB = new Set(['EventId', 'CreatedUtc']);
// The hub's own form of an instant: UTC with milliseconds, as toISOString writes it.
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// Control characters (tab, newline, NUL...) have no place in an identifier.
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export type EventInputLimits = Pick<
  ClearinghouseConfig,
  'publisherSystemIds' | 'eventTypes' | 'eventDataMaxBytes'
>;

export type ParsedEvent =
  { ok: true; content: LearningEventContent } | { ok: false; issues: FieldIssue[] };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks one event as a publisher sent it, field by field as the Learning Hub defines them, and
 * normalises it (instants to UTC with milliseconds, an absent category or end to null). Written
 * by hand rather than with class-validator: ingest runs it tens of thousands of times a second.
 * Every problem is reported at once.
 */
export const parseLearningEvent = (raw: unknown, limits: EventInputLimits): ParsedEvent => {
  if (!isPlainObject(raw))
    return { ok: false, issues: [{ field: '', message: 'an event must be a JSON object' }] };
  const issues: FieldIssue[] = [];
  const issue = (field: string, message: string) => issues.push({ field, message });

  for (const key of Object.keys(raw)) {
    if (ASSIGNED_BY_HUB.has(key)) issue(key, 'is assigned by the hub and must not be sent');
    else if (!FIELDS.has(key)) issue(key, 'is not a field of an event');
  }

  const text = (field: string, maxLength: number, required = true): string | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) {
      if (required) issue(field, 'is required');
      return undefined;
    }
    if (typeof value !== 'string') {
      issue(field, 'must be a string');
      return undefined;
    }
    if (value.trim().length === 0) issue(field, 'must not be empty');
    else if (value.length > maxLength) issue(field, `must be at most ${maxLength} characters`);
    else if (CONTROL.test(value)) issue(field, 'must not contain control characters');
    else return value;
    return undefined;
  };
  const oneOf = (field: string, value: string | undefined, accepted: readonly string[]) => {
    if (value !== undefined && !accepted.includes(value))
      issue(field, `must be one of ${accepted.join(', ')}`);
  };
  const instant = (field: string, required: boolean): string | null | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) {
      if (required) issue(field, 'is required');
      return required ? undefined : null;
    }
    const epochMs = typeof value === 'string' ? parseIsoInstant(value) : null;
    if (epochMs === null) {
      issue(field, 'must be an ISO 8601 date-time with Z or an offset, e.g. 2026-12-01T09:30:00Z');
      return undefined;
    }
    // Once valid, an instant already in the hub's form is what formatting it would give.
    return CANONICAL_INSTANT.test(value as string)
      ? (value as string)
      : new Date(epochMs).toISOString();
  };

  const programId = text('PublisherProgramId', 25);
  if (programId !== undefined && !PROGRAM_ID.test(programId))
    issue('PublisherProgramId', `must be ${PROGRAM_ID_RULE}`);
  const systemId = text('PublisherSystemId', 25);
  oneOf('PublisherSystemId', systemId, limits.publisherSystemIds);
  const eventType = text('EventType', 50);
  oneOf('EventType', eventType, limits.eventTypes);
  const publisherEventId = text('PublisherEventId', 200);
  const participantId = text('PublisherParticipantId', 200);
  const category = parseCategory(raw.PublisherEventCategory, issue);

  const data = raw.PublisherEventData;
  if (data === undefined || data === null) issue('PublisherEventData', 'is required');
  else if (!isPlainObject(data)) issue('PublisherEventData', 'must be a JSON object');
  else {
    const json = JSON.stringify(data);
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > limits.eventDataMaxBytes)
      issue(
        'PublisherEventData',
        `must be at most ${limits.eventDataMaxBytes} bytes as JSON (it is ${bytes})`,
      );
    else if (jsonHasNul(json)) issue('PublisherEventData', 'must not contain NUL characters');
  }

  const start = instant('EventStartUtc', true);
  const end = instant('EventEndUtc', false);
  if (typeof start === 'string' && typeof end === 'string' && end < start)
    issue('EventEndUtc', 'must not be before EventStartUtc');

  if (
    issues.length > 0 ||
    programId === undefined ||
    systemId === undefined ||
    eventType === undefined ||
    publisherEventId === undefined ||
    participantId === undefined ||
    category === undefined ||
    !isPlainObject(data) ||
    typeof start !== 'string' ||
    end === undefined
  )
    return { ok: false, issues };
  return {
    ok: true,
    content: {
      PublisherProgramId: programId,
      PublisherSystemId: systemId,
      EventType: eventType,
      PublisherEventId: publisherEventId,
      PublisherParticipantId: participantId,
      PublisherEventCategory: category,
      PublisherEventData: data,
      EventStartUtc: start,
      EventEndUtc: end,
    },
  };
};

/** `{value, label}`; undefined when invalid (issues recorded), null when absent. */
const parseCategory = (
  value: unknown,
  issue: (field: string, message: string) => void,
): EventCategory | null | undefined => {
  const field = 'PublisherEventCategory';
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) {
    issue(field, 'must be an object {value, label}');
    return undefined;
  }
  let valid = true;
  for (const key of Object.keys(value))
    if (key !== 'value' && key !== 'label') {
      issue(`${field}.${key}`, 'is not a field of a category');
      valid = false;
    }
  const categoryValue = value.value;
  if (typeof categoryValue !== 'string' || categoryValue.trim().length === 0) {
    issue(`${field}.value`, 'must be a non-empty string');
    valid = false;
  } else if (categoryValue.length > 100) {
    issue(`${field}.value`, 'must be at most 100 characters');
    valid = false;
  } else if (CONTROL.test(categoryValue)) {
    issue(`${field}.value`, 'must not contain control characters');
    valid = false;
  } else if (categoryValue === DEFAULT_TEMPLATE_KEY) {
    issue(
      `${field}.value`,
      `must not be ${DEFAULT_TEMPLATE_KEY}, which names subscribers' fallback`,
    );
    valid = false;
  }
  const label = value.label;
  if (label !== undefined && label !== null && (typeof label !== 'string' || label.length > 200)) {
    issue(`${field}.label`, 'must be a string of at most 200 characters');
    valid = false;
  }
  if (!valid || typeof categoryValue !== 'string') return undefined;
  return { value: categoryValue, label: typeof label === 'string' ? label : null };
};
