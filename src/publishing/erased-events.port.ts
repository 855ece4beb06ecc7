/**
 * What erasing a participant asks of the places that keep copies of events outside the log
 * (webhook deliveries): to forget the erased ones. Subscriptions provides it; publishing knows
 * only this port, so neither slice reaches into the other.
 */
export interface ErasedEventCopies {
  /** Removes the copies of these events; answers how many places held any. */
  forget(eventIds: readonly string[]): Promise<number>;
}

export const ERASED_EVENT_COPIES = Symbol('ERASED_EVENT_COPIES');
