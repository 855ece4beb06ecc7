import { comparePositions, EventStore, Position, START } from '../event-store/event-store.port';
import { publisherCategory } from '../publishing/learning-event.events';
import { cursorOf, FeedItem, toFeedItem } from './feed-items';
import { ActiveSubscription } from './subscription.decider';

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

/**
 * One page of a subscription's feed: the publisher's events after `after`, in the hub's order,
 * converted by the subscription's templates. It is read through a filtered subscription of the
 * event store, which EventStoreDB filters on the server as PostgreSQL does, and stops at `limit`
 * items or once caught up. The log is read only up to what no transaction in flight can still
 * slip in before, so a cursor never skips an event that commits later; where the store reports
 * that it scanned past other programs' events, the cursor moves past them too.
 */
export const readFeedPage = async (
  store: EventStore,
  subscription: Pick<ActiveSubscription, 'publisherProgramId' | 'templates'>,
  after: Position | typeof START,
  limit: number,
): Promise<FeedPage> => {
  const items: FeedItem[] = [];
  let last: Position | typeof START = after;
  const moveTo = (position: Position | null) => {
    if (position !== null && (last === START || comparePositions(position, last) > 0))
      last = position;
  };
  const feed = store.subscribeToAll({
    from: after,
    filter: subscriptionFilter(subscription),
    batchSize: Math.max(limit, 500),
  });
  try {
    for await (const message of feed) {
      switch (message.kind) {
        case 'event': {
          const item = toFeedItem(message.event, subscription.templates);
          if (item) items.push(item);
          moveTo(message.event.position);
          if (items.length >= limit) return { items, nextCursor: cursorOf(last), hasMore: true };
          break;
        }
        case 'checkpoint':
          moveTo(message.position);
          break;
        case 'caught-up':
          moveTo(message.position);
          return { items, nextCursor: cursorOf(last), hasMore: false };
        default: {
          const unknownMessage: never = message;
          throw new Error(`Unknown subscription message ${JSON.stringify(unknownMessage)}`);
        }
      }
    }
    // The store closed under the read: what was read stands, the client asks again.
    return { items, nextCursor: cursorOf(last), hasMore: true };
  } finally {
    await feed.close();
  }
};
