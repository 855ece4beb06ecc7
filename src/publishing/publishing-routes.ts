import { ClearinghouseConfig } from '../config/hub-config';

export const MAX_EVENTS_PER_BATCH = 1_000;
// Room for an event's fields besides its data (ids, category, times), as JSON.
const EVENT_FIELDS_BYTES = 2_048;

/**
 * Bodies the publishing routes accept, in bytes: an event holds up to eventDataMaxBytes of data,
 * and a batch up to MAX_EVENTS_PER_BATCH of them.
 */
export const publishingBodyLimits = (
  config: Pick<ClearinghouseConfig, 'eventDataMaxBytes'>,
): { route: RegExp; bytes: number }[] => [
  {
    route: /^\/v1\/events\/batch$/,
    bytes: MAX_EVENTS_PER_BATCH * (config.eventDataMaxBytes + EVENT_FIELDS_BYTES),
  },
  { route: /^\/v1\/events(\/[^/]+)?$/, bytes: 2 * (config.eventDataMaxBytes + EVENT_FIELDS_BYTES) },
];
