import { EventStore, Position, START } from '../event-store/event-store.port';
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
 * converted by the subscription's templates. The log is read only up to what no transaction in
 * flight can still slip in before, so a cursor never skips an event that commits later.
 */
export const readFeedPage = async (
  store: EventStore,
  subscription: Pick<ActiveSubscription, 'publisherProgramId' | 'templates'>,
  after: Position | typeof START,
  limit: number,
): Promise<FeedPage> => {
  const filter = subscriptionFilter(subscription);
  const items: FeedItem[] = [];
  let last: Position | typeof START = after;
  for (;;) {
    const wanted = limit - items.length;
    const events = await store.readAll({ from: last, filter, maxCount: wanted });
    for (const event of events) {
      const item = toFeedItem(event, subscription.templates);
      if (item) items.push(item);
      last = event.position;
    }
    if (events.length < wanted) return { items, nextCursor: cursorOf(last), hasMore: false };
    if (items.length >= limit) return { items, nextCursor: cursorOf(last), hasMore: true };
  }
};
