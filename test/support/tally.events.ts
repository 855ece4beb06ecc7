import { DomainEvent } from '../../src/event-sourcing/decider';

/**
 * A deliberately small domain, a named counter, that tests use to exercise the generic command
 * handler and the projection engine; the hub itself never registers it.
 */
export type TallyOpened = DomainEvent<
  'TallyOpened',
  { tallyId: string; name: string; openedAt: string }
>;
export type TallyIncremented = DomainEvent<
  'TallyIncremented',
  { tallyId: string; by: number; at: string }
>;
export type TallyClosed = DomainEvent<'TallyClosed', { tallyId: string; closedAt: string }>;
export type TallyEvent = TallyOpened | TallyIncremented | TallyClosed;

export const tallyStream = (tallyId: string): string => `tally-${tallyId}`;
