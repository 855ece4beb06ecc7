import { Actor } from '../../src/auth/principal';
import { ConflictError, ForbiddenError, NotFoundError } from '../../src/errors/hub-error';
import { ProgramFacts } from '../../src/programs/program.decider';
import { ParticipantErased } from '../../src/publishing/learning-event.events';
import {
  EraseParticipant,
  participantErasureDecider,
} from '../../src/publishing/participant-erasure.decider';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(participantErasureDecider);

const ORG = 'org-lb';
const PROGRAM: ProgramFacts = { programId: 'NCBON', organisationId: ORG };
const NOW = new Date('2026-12-01T10:00:00.000Z');
const EVENTS = [
  { EventId: 'NCBON-0b7a4f1c-2d3e-5a1e-9d33-8c5e0f526f0b', CategoryValue: 'COURSE' },
  { EventId: 'NCBON-8c5e0f52-6f0b-5a1e-9d33-0b7a4f1c2d3e', CategoryValue: null },
];

const actor = (organisationId: string, ...roles: Actor['roles']): Actor => ({
  userId: `key-${roles.join('-')}`,
  organisationId,
  roles,
});

const erase = (overrides: Partial<EraseParticipant> = {}): EraseParticipant => ({
  type: 'EraseParticipant',
  erasureId: '01JF3Q9X4Z8M2N6P0R5T7V9W1Y',
  programId: 'NCBON',
  program: PROGRAM,
  actor: actor(ORG, 'PUBLISHER'),
  events: EVENTS,
  now: NOW,
  ...overrides,
});

const erased: ParticipantErased = {
  type: 'ParticipantErased',
  data: {
    ErasureId: '01JF3Q9X4Z8M2N6P0R5T7V9W1Y',
    PublisherProgramId: 'NCBON',
    Events: EVENTS,
    ErasedUtc: NOW.toISOString(),
  },
};

describe('participant erasure decider', () => {
  it('records the erasure with the events it found, and not the participant', () => {
    spec.given([]).when(erase()).then([erased]);
  });

  it('records an erasure that found nothing', () => {
    spec
      .given([])
      .when(erase({ events: [] }))
      .then([{ ...erased, data: { ...erased.data, Events: [] } }]);
  });

  it('lets an organisation admin and a system admin erase as the publisher can', () => {
    spec
      .given([])
      .when(erase({ actor: actor(ORG, 'ORG_ADMIN') }))
      .then([erased]);
    spec
      .given([])
      .when(erase({ actor: actor('org-hub', 'SYSTEM_ADMIN') }))
      .then([erased]);
  });

  it('refuses another organisation, a subscriber, and an unregistered program', () => {
    spec
      .given([])
      .when(erase({ actor: actor('org-other', 'PUBLISHER') }))
      .thenThrows(ForbiddenError, { code: 'PROGRAM_NOT_YOURS' });
    spec
      .given([])
      .when(erase({ actor: actor(ORG, 'SUBSCRIBER') }))
      .thenThrows(ForbiddenError, { code: 'PROGRAM_NOT_YOURS' });
    spec
      .given([])
      .when(erase({ program: null }))
      .thenThrows(ForbiddenError, { code: 'PROGRAM_NOT_YOURS' });
    spec
      .given([])
      .when(erase({ program: null, actor: actor('org-hub', 'SYSTEM_ADMIN') }))
      .thenThrows(NotFoundError, { code: 'PROGRAM_NOT_FOUND' });
  });

  it('never records one erasure twice', () => {
    spec.given([erased]).when(erase()).thenThrows(ConflictError, { code: 'ERASURE_RECORDED' });
  });
});
