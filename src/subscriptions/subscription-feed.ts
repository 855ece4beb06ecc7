import {
  comparePositions,
  EventStore,
  Position,
  RecordedEvent,
  START,
} from '../event-store/event-store.port';
import { publisherCategory } from '../publishing/learning-event.events';
import { cursorOf } from '../http/log-cursor';
import { FeedItem, toFeedItem } from './feed-items';
import { ActiveSubscription } from './subscription.events';
import { PageBudget, type TemplateConverter } from './template-renderer';

export interface FeedPage {
  items: FeedItem[];
  /** Pass as `after` for the next page; it moves past ignored categories too. */
  nextCursor: string;
  /** False once the page reached the end of the log as it stands. */
  hasMore: boolean;
}

/** What the event store filters on for a subscription: its publisher's category. */
export const subscriptionFilter = (
  subscription: Pick<ActiveSubscription, 'publisherProgramId'>,
) => ({
  streamNamePrefixes: [publisherCategory(subscription.publisherProgramId)],
});

/** What converts a page's events: the TemplateConverter, or inlineFeedConverter. */
export type FeedConverter = Pick<TemplateConverter, 'convertPage' | 'newPageBudget'>;

/**
 * Converts on the calling thread with toFeedItem (the item limits of the default settings, no
 * page budget): for tools and tests that run without the hub's TemplateConverter.
 */
export const inlineFeedConverter: FeedConverter = {
  newPageBudget: () => new PageBudget(Infinity, Infinity),
  convertPage: async (events, templates) => {
    const items = events.map((event) => toFeedItem(event, templates));
    return { items, converted: items.length };
  },
};

/**
 * One page of a subscription's feed: the publisher's events after `after`, in the hub's order,
 * converted by the subscription's templates. It is read through a filtered subscription of the
 * event store, which EventStoreDB filters on the server as PostgreSQL does, and stops at `limit`
 * items, once caught up, or once the page's rendering budget is spent (the events after the
 * item that spent it start the next page). The log is read only up to what no transaction in
 * flight can still slip in before, so a cursor never skips an event that commits later; where
 * the store reports that it scanned past other programs' events, the cursor moves past them too.
 */
export const readFeedPage = async (
  store: EventStore,
  subscription: Pick<ActiveSubscription, 'publisherProgramId' | 'templates'> &
    Partial<Pick<ActiveSubscription, 'subscriptionId'>>,
  after: Position | typeof START,
  limit: number,
  converter: FeedConverter = inlineFeedConverter,
): Promise<FeedPage> => {
  // Whose turn it is in the render pool: the subscription, else its publisher.
  const caller = subscription.subscriptionId ?? subscription.publisherProgramId;
  const items: FeedItem[] = [];
  let last: Position | typeof START = after;
  const moveTo = (position: Position | null) => {
    if (position !== null && (last === START || comparePositions(position, last) > 0))
      last = position;
  };
  const page = (hasMore: boolean): FeedPage => ({ items, nextCursor: cursorOf(last), hasMore });
  const budget = converter.newPageBudget();
  let read: RecordedEvent[] = [];
  /** Converts the events read so far; false once the page is full or its budget is spent. */
  const convertRead = async (): Promise<boolean> => {
    const events = read;
    read = [];
    if (events.length === 0) return items.length < limit;
    const converted = await converter.convertPage(events, subscription.templates, caller, budget);
    for (const item of converted.items) if (item) items.push(item);
    if (converted.converted > 0) moveTo(events[converted.converted - 1]!.position);
    return converted.converted === events.length && items.length < limit;
  };
  const feed = store.subscribeToAll({
    from: after,
    filter: subscriptionFilter(subscription),
    batchSize: Math.max(limit, 500),
  });
  try {
    for await (const message of feed) {
      switch (message.kind) {
        case 'event':
          read.push(message.event);
          // Every one of them may become an item: convert before reading past the limit.
          if (items.length + read.length >= limit && !(await convertRead())) return page(true);
          break;
        case 'checkpoint':
          if (!(await convertRead())) return page(true);
          moveTo(message.position);
          break;
        case 'caught-up':
          if (!(await convertRead())) return page(true);
          moveTo(message.position);
          return page(false);
        default: {
          const unknownMessage: never = message;
          throw new Error(`Unknown subscription message ${JSON.stringify(unknownMessage)}`);
        }
      }
    }
    // The store closed under the read: what was read stands, the client asks again.
    await convertRead();
    return page(true);
  } finally {
    await feed.close();
  }
};
