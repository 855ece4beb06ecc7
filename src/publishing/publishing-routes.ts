import { ClearinghouseConfig } from '../config/hub-config';

export const MAX_EVENTS_PER_BATCH = 1_000;
// Room for an event's fields besides its data (ids, category, times), as JSON.
const EVENT_FIELDS_BYTES = 2_048;

/**
 * The largest batch body, 8 MiB: 1,000 events of 8 KiB each (a typical event is under 1 KiB),
 * or 120 events whose data is the full 64 KiB. A batch is bounded by both: a publisher with
 * large events sends fewer per batch. A batch that could hold 1,000 events of the largest data
 * would be 67.5 MB, which the hub would have to buffer and parse (several times its size in
 * memory) per request.
 */
export const BATCH_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * Bodies the publishing routes accept, in bytes: an event holds up to eventDataMaxBytes of data
 * (its body room for twice that, for escapes and white space), and a batch holds at least one
 * such event.
 */
export const publishingBodyLimits = (
  config: Pick<ClearinghouseConfig, 'eventDataMaxBytes'>,
): { route: RegExp; bytes: number }[] => {
  const oneEvent = 2 * (config.eventDataMaxBytes + EVENT_FIELDS_BYTES);
  return [
    { route: /^\/v1\/events\/batch$/, bytes: Math.max(BATCH_BODY_LIMIT_BYTES, oneEvent) },
    { route: /^\/v1\/events(\/[^/]+)?$/, bytes: oneEvent },
  ];
};
