import { defaultClearinghouseConfig } from '../config/hub-config';
import { RecordedEvent } from '../event-store/event-store.port';
import { feedCursor } from '../http/log-cursor';
import {
  EventCategory,
  ParticipantErased,
  PublisherCategoryEvent,
} from '../publishing/learning-event.events';
import { TemplateSet } from './subscription.events';
import { conversionOf, itemLimits, renderTemplate } from './template-conversion';
import { importsCategory, templateFor } from './template-set';

export type EventFeedItemKind = 'published' | 'amended' | 'retracted';
export type FeedItemKind = EventFeedItemKind | 'erased';

/** One change of a publisher's event, converted for one subscriber. */
export interface EventFeedItem {
  /** Resume after this item: pass it as `after` (feed) or it is the SSE event id. */
  cursor: string;
  kind: EventFeedItemKind;
  eventId: string;
  publisherProgramId: string;
  publisherSystemId: string;
  publisherEventId: string;
  participantId: string;
  eventType: string;
  category: EventCategory | null;
  /** The template-set key that applied: the category value or `*_default`. */
  template: string;
  label: string | null;
  createdUtc: string;
  amendedUtc: string | null;
  retractedUtc: string | null;
  /** When the hub recorded this change. */
  recordedUtc: string;
  /** The template's output, parsed; null for retractions and failed conversions. */
  payload: unknown;
  conversionError: string | null;
}

/**
 * The publisher erased a participant: these events, which the subscriber received, are gone from
 * the hub, and it should delete its copies. Only their EventIds are given.
 */
export interface ErasureFeedItem {
  cursor: string;
  kind: 'erased';
  erasureId: string;
  publisherProgramId: string;
  eventIds: string[];
  erasedUtc: string;
  recordedUtc: string;
}

export type FeedItem = EventFeedItem | ErasureFeedItem;

/** A template to run for an item: its source and the context it sees. */
export interface TemplateRun {
  source: string;
  context: Record<string, unknown>;
}

/**
 * What a subscriber receives for one change before any template ran (`payload` and
 * `conversionError` still null), with the template run that fills them in, if one is due.
 */
export type PlannedFeedItem =
  { item: EventFeedItem; run: TemplateRun } | { item: FeedItem; run: null };

/**
 * What a subscriber with `templates` receives for one recorded change, or null when its
 * template set ignores the category. An amendment that moves an event out of the categories
 * the subscriber imports reaches it as a retraction: the event has left its view.
 */
export const planFeedItem = (
  recorded: RecordedEvent,
  templates: TemplateSet,
): PlannedFeedItem | null => {
  const event = { type: recorded.type, data: recorded.data } as PublisherCategoryEvent;
  if (event.type === 'ParticipantErased') {
    const item = toErasureItem(recorded, event, templates);
    return item && { item, run: null };
  }
  const { data } = event;
  const categoryValue = data.PublisherEventCategory?.value ?? null;
  let kind: EventFeedItemKind;
  switch (event.type) {
    case 'LearningEventPublished':
      if (!importsCategory(templates, categoryValue)) return null;
      kind = 'published';
      break;
    case 'LearningEventAmended':
      if (importsCategory(templates, categoryValue)) kind = 'amended';
      else if (importsCategory(templates, event.data.PreviousCategoryValue)) kind = 'retracted';
      else return null;
      break;
    case 'LearningEventRetracted':
      if (!importsCategory(templates, categoryValue)) return null;
      kind = 'retracted';
      break;
    default: {
      const unknownEvent: never = event;
      return unknownEvent;
    }
  }
  const chosen =
    kind === 'retracted' && event.type === 'LearningEventAmended'
      ? templateFor(templates, event.data.PreviousCategoryValue)
      : templateFor(templates, categoryValue);
  const item: EventFeedItem = {
    cursor: feedCursor(recorded.position),
    kind,
    eventId: data.EventId,
    publisherProgramId: data.PublisherProgramId,
    publisherSystemId: data.PublisherSystemId,
    publisherEventId: data.PublisherEventId,
    participantId: data.PublisherParticipantId,
    eventType: data.EventType,
    category: data.PublisherEventCategory,
    template: chosen?.key ?? '',
    label: chosen?.entry.label ?? null,
    createdUtc: data.CreatedUtc,
    amendedUtc: event.type === 'LearningEventAmended' ? event.data.AmendedUtc : null,
    retractedUtc: event.type === 'LearningEventRetracted' ? event.data.RetractedUtc : null,
    recordedUtc: recorded.recordedAt.toISOString(),
    payload: null,
    conversionError: null,
  };
  const source = kind === 'retracted' ? null : (chosen?.entry.template ?? null);
  return source ? { item, run: { source, context: { ...data, Kind: kind } } } : { item, run: null };
};

// The old path renders on the caller's thread with the item limits of the default settings:
// a loop or a flood of output stops at once, a slow render at 100 ms, but no page budget.
const INLINE_LIMITS = itemLimits(defaultClearinghouseConfig().templates);

/**
 * planFeedItem with the template run inline, synchronously. The live stream and webhook delivery
 * still use it; the pull feed goes through TemplateConverter, which renders off the event loop.
 */
export const toFeedItem = (recorded: RecordedEvent, templates: TemplateSet): FeedItem | null => {
  const planned = planFeedItem(recorded, templates);
  if (!planned?.run) return planned?.item ?? null;
  const { source, context } = planned.run;
  return {
    ...planned.item,
    ...conversionOf(renderTemplate(source, context, INLINE_LIMITS)),
  };
};

/** An erasure, for a subscriber: the erased events of the categories it imports, if any. */
const toErasureItem = (
  recorded: RecordedEvent,
  event: ParticipantErased,
  templates: TemplateSet,
): ErasureFeedItem | null => {
  const eventIds = event.data.Events.filter((erased) =>
    importsCategory(templates, erased.CategoryValue),
  ).map((erased) => erased.EventId);
  if (eventIds.length === 0) return null;
  return {
    cursor: feedCursor(recorded.position),
    kind: 'erased',
    erasureId: event.data.ErasureId,
    publisherProgramId: event.data.PublisherProgramId,
    eventIds,
    erasedUtc: event.data.ErasedUtc,
    recordedUtc: recorded.recordedAt.toISOString(),
  };
};
