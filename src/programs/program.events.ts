import { DomainEvent } from '../event-sourcing/decider';

export const PROGRAM_STREAM_PREFIX = 'program-';

export const programStream = (programId: string): string => `${PROGRAM_STREAM_PREFIX}${programId}`;

/**
 * A program is what publishes and what subscribes in the clearinghouse: an organisation's
 * LearningBuilder program, say. Its id is the PublisherProgramId of the events it publishes.
 */
export type ProgramRegistered = DomainEvent<
  'ProgramRegistered',
  {
    programId: string;
    organisationId: string;
    name: string;
    description: string | null;
    registeredBy: string;
    registeredAt: string;
  }
>;

export type ProgramUpdated = DomainEvent<
  'ProgramUpdated',
  {
    programId: string;
    name: string;
    description: string | null;
    updatedBy: string;
    updatedAt: string;
  }
>;

export type ProgramEvent = ProgramRegistered | ProgramUpdated;
