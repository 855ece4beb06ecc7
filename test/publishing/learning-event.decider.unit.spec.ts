import { createHash } from 'node:crypto';
import { Actor } from '../../src/auth/principal';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../../src/errors/hub-error';
import { fold } from '../../src/event-sourcing/decider';
import { ProgramFacts } from '../../src/programs/program.decider';
import {
  LearningEventCommand,
  learningEventDecider,
} from '../../src/publishing/learning-event.decider';
import {
  eventIdFor,
  LearningEventContent,
  LearningEventEvent,
  learningEventStream,
  parseEventId,
} from '../../src/publishing/learning-event.events';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(learningEventDecider);

const ORG = 'org-lb';
const OTHER_ORG = 'org-other';
const PROGRAM_ID = 'NCBON';
const PROGRAM: ProgramFacts = { programId: PROGRAM_ID, organisationId: ORG };
const PUBLISHER_EVENT_ID = 'lb-42';
const EVENT_ID = eventIdFor(PROGRAM_ID, PUBLISHER_EVENT_ID);

const now = new Date('2026-12-01T10:00:00.000Z');
const NOW = now.toISOString();
const CREATED = '2026-11-20T08:00:00.000Z';
const AMENDED = '2026-11-25T08:00:00.000Z';
const RETRACTED = '2026-11-28T08:00:00.000Z';

const publisher: Actor = { userId: 'key-pub', organisationId: ORG, roles: ['PUBLISHER'] };
const foreignPublisher: Actor = {
  userId: 'key-far',
  organisationId: OTHER_ORG,
  roles: ['PUBLISHER'],
};
const systemAdmin: Actor = { userId: 'root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };

const content = (overrides: Partial<LearningEventContent> = {}): LearningEventContent => ({
  PublisherProgramId: PROGRAM_ID,
  PublisherSystemId: 'LB',
  EventType: 'LPI_COMP_SUCCESS',
  PublisherEventId: PUBLISHER_EVENT_ID,
  PublisherParticipantId: 'p-1',
  PublisherEventCategory: { value: 'COURSE', label: 'Course' },
  PublisherEventData: { score: 93, title: 'Infection control' },
  EventStartUtc: '2026-11-19T09:00:00.000Z',
  EventEndUtc: '2026-11-19T11:00:00.000Z',
  ...overrides,
});

const CHANGED = content({
  PublisherEventCategory: { value: 'CREDENTIAL', label: null },
  PublisherEventData: { score: 95, title: 'Infection control' },
});

type Base = {
  eventId?: string;
  programId?: string;
  actor?: Actor;
  program?: ProgramFacts | null;
};
const base = (overrides: Base) => ({
  eventId: EVENT_ID,
  programId: PROGRAM_ID,
  actor: publisher,
  program: PROGRAM,
  now,
  ...overrides,
});
const publish = (body = content(), overrides: Base = {}): LearningEventCommand => ({
  type: 'PublishLearningEvent',
  content: body,
  ...base(overrides),
});
const amend = (body = CHANGED, overrides: Base = {}): LearningEventCommand => ({
  type: 'AmendLearningEvent',
  content: body,
  ...base(overrides),
});
const retract = (overrides: Base = {}): LearningEventCommand => ({
  type: 'RetractLearningEvent',
  ...base(overrides),
});

const published = (body = content(), createdUtc = CREATED): LearningEventEvent => ({
  type: 'LearningEventPublished',
  data: { EventId: EVENT_ID, ...body, CreatedUtc: createdUtc },
});
const amended = (
  body = CHANGED,
  previous: string | null = 'COURSE',
  amendedUtc = AMENDED,
): LearningEventEvent => ({
  type: 'LearningEventAmended',
  data: {
    EventId: EVENT_ID,
    ...body,
    CreatedUtc: CREATED,
    AmendedUtc: amendedUtc,
    PreviousCategoryValue: previous,
  },
});
const retracted = (body = content(), retractedUtc = RETRACTED): LearningEventEvent => ({
  type: 'LearningEventRetracted',
  data: {
    EventId: EVENT_ID,
    PublisherProgramId: body.PublisherProgramId,
    PublisherSystemId: body.PublisherSystemId,
    EventType: body.EventType,
    PublisherEventId: body.PublisherEventId,
    PublisherParticipantId: body.PublisherParticipantId,
    PublisherEventCategory: body.PublisherEventCategory,
    CreatedUtc: CREATED,
    RetractedUtc: retractedUtc,
  },
});

describe('learning event decider: PublishLearningEvent', () => {
  it('records the publication with the EventId, the content and CreatedUtc', () => {
    spec
      .given([])
      .when(publish())
      .then([
        {
          type: 'LearningEventPublished',
          data: {
            EventId: EVENT_ID,
            PublisherProgramId: 'NCBON',
            PublisherSystemId: 'LB',
            EventType: 'LPI_COMP_SUCCESS',
            PublisherEventId: 'lb-42',
            PublisherParticipantId: 'p-1',
            PublisherEventCategory: { value: 'COURSE', label: 'Course' },
            PublisherEventData: { score: 93, title: 'Infection control' },
            EventStartUtc: '2026-11-19T09:00:00.000Z',
            EventEndUtc: '2026-11-19T11:00:00.000Z',
            CreatedUtc: NOW,
          },
        },
      ]);
  });

  it('records nothing when the same content is sent again', () => {
    spec.given([published()]).when(publish()).thenNothingHappens();
  });

  it('treats data with its keys in another order as the same content', () => {
    spec
      .given([published()])
      .when(publish(content({ PublisherEventData: { title: 'Infection control', score: 93 } })))
      .thenNothingHappens();
  });

  it('records nothing for a resend of the original content, or of the correction, after an amendment', () => {
    spec.given([published(), amended()]).when(publish(content())).thenNothingHappens();
    spec.given([published(), amended()]).when(publish(CHANGED)).thenNothingHappens();
  });

  it('refuses other content under the same PublisherEventId (EVENT_CONFLICT)', () => {
    spec
      .given([published()])
      .when(publish(CHANGED))
      .thenThrows(ConflictError, { code: 'EVENT_CONFLICT', details: { eventId: EVENT_ID } });
    spec
      .given([published()])
      .when(publish(content({ EventEndUtc: null })))
      .thenThrows(ConflictError, { code: 'EVENT_CONFLICT' });
    spec
      .given([published(), amended()])
      .when(publish(content({ PublisherParticipantId: 'p-2' })))
      .thenThrows(ConflictError, { code: 'EVENT_CONFLICT' });
  });

  it('refuses a publication after a retraction (EVENT_RETRACTED), even of the same content', () => {
    spec
      .given([published(), retracted()])
      .when(publish())
      .thenThrows(ConflictError, {
        code: 'EVENT_RETRACTED',
        details: { eventId: EVENT_ID, retractedUtc: RETRACTED },
      });
  });

  it('refuses content whose program and PublisherEventId do not give the EventId (EVENT_ID_MISMATCH)', () => {
    spec
      .given([])
      .when(publish(content({ PublisherEventId: 'lb-43' })))
      .thenThrows(InvalidInputError, {
        kind: 'invalid_input',
        code: 'EVENT_ID_MISMATCH',
        issues: [
          { field: 'PublisherEventId', message: 'must be the one the event was published with' },
        ],
      });
    spec
      .given([])
      .when(publish(content(), { eventId: eventIdFor(PROGRAM_ID, 'lb-43') }))
      .thenThrows(InvalidInputError, { code: 'EVENT_ID_MISMATCH' });
  });
});

describe('learning event decider: program authorisation', () => {
  it('lets a PUBLISHER of the owning organisation publish', () => {
    spec
      .given([])
      .when(publish())
      .then([published(content(), NOW)]);
  });

  it('lets a system admin publish for any registered program', () => {
    spec
      .given([])
      .when(publish(content(), { actor: systemAdmin }))
      .then([published(content(), NOW)]);
  });

  it('refuses a PUBLISHER of another organisation (PROGRAM_NOT_YOURS)', () => {
    spec
      .given([])
      .when(publish(content(), { actor: foreignPublisher }))
      .thenThrows(ForbiddenError, {
        kind: 'forbidden',
        code: 'PROGRAM_NOT_YOURS',
        details: { programId: PROGRAM_ID },
      });
  });

  it('refuses an unregistered program to a publisher as PROGRAM_NOT_YOURS, so nothing leaks', () => {
    spec
      .given([])
      .when(publish(content(), { program: null }))
      .thenThrows(ForbiddenError, { code: 'PROGRAM_NOT_YOURS' });
  });

  it('tells a system admin that the program is not registered (PROGRAM_NOT_FOUND)', () => {
    spec
      .given([])
      .when(publish(content(), { actor: systemAdmin, program: null }))
      .thenThrows(NotFoundError, {
        kind: 'not_found',
        code: 'PROGRAM_NOT_FOUND',
        details: { programId: PROGRAM_ID },
      });
  });

  it.each([
    ['an org admin', ['ORG_ADMIN'] as const],
    ['a subscriber', ['SUBSCRIBER'] as const],
    ['a learner', ['LEARNER'] as const],
  ])('refuses %s of the owning organisation', (_, roles) => {
    spec
      .given([])
      .when(publish(content(), { actor: { userId: 'u', organisationId: ORG, roles } }))
      .thenThrows(ForbiddenError, { kind: 'forbidden', code: 'PROGRAM_NOT_YOURS' });
  });

  it('applies the same rule to amendments and retractions', () => {
    spec
      .given([published()])
      .when(amend(CHANGED, { actor: foreignPublisher }))
      .thenThrows(ForbiddenError, { code: 'PROGRAM_NOT_YOURS' });
    spec
      .given([published()])
      .when(retract({ actor: foreignPublisher }))
      .thenThrows(ForbiddenError, { code: 'PROGRAM_NOT_YOURS' });
    spec
      .given([published()])
      .when(retract({ actor: systemAdmin }))
      .then([retracted(content(), NOW)]);
  });
});

describe('learning event decider: AmendLearningEvent', () => {
  it('answers EVENT_NOT_FOUND for an event never published', () => {
    spec
      .given([])
      .when(amend())
      .thenThrows(NotFoundError, { code: 'EVENT_NOT_FOUND', details: { eventId: EVENT_ID } });
  });

  it('records nothing when the content is what the event already holds', () => {
    spec.given([published()]).when(amend(content())).thenNothingHappens();
    spec.given([published(), amended()]).when(amend(CHANGED)).thenNothingHappens();
  });

  it('records the new content, keeping CreatedUtc, with AmendedUtc and the previous category', () => {
    spec
      .given([published()])
      .when(amend())
      .then([
        {
          type: 'LearningEventAmended',
          data: {
            EventId: EVENT_ID,
            ...CHANGED,
            CreatedUtc: CREATED,
            AmendedUtc: NOW,
            PreviousCategoryValue: 'COURSE',
          },
        },
      ]);
  });

  it('takes the previous category from the latest amendment, null when there was none', () => {
    spec
      .given([published(), amended()])
      .when(amend(content({ PublisherEventCategory: null })))
      .then([amended(content({ PublisherEventCategory: null }), 'CREDENTIAL', NOW)]);
    spec
      .given([published(content({ PublisherEventCategory: null }))])
      .when(amend())
      .then([amended(CHANGED, null, NOW)]);
  });

  it('amends back to the original content', () => {
    spec
      .given([published(), amended()])
      .when(amend(content()))
      .then([amended(content(), 'CREDENTIAL', NOW)]);
  });

  it('refuses a retracted event (EVENT_RETRACTED)', () => {
    spec
      .given([published(), retracted()])
      .when(amend())
      .thenThrows(ConflictError, {
        code: 'EVENT_RETRACTED',
        details: { eventId: EVENT_ID, retractedUtc: RETRACTED },
      });
  });

  it('refuses content naming another PublisherEventId (EVENT_ID_MISMATCH)', () => {
    spec
      .given([published()])
      .when(amend(content({ PublisherEventId: 'lb-99' })))
      .thenThrows(InvalidInputError, { code: 'EVENT_ID_MISMATCH' });
  });
});

describe('learning event decider: RetractLearningEvent', () => {
  it('answers EVENT_NOT_FOUND for an event never published', () => {
    spec
      .given([])
      .when(retract())
      .thenThrows(NotFoundError, { code: 'EVENT_NOT_FOUND', details: { eventId: EVENT_ID } });
  });

  it('records the retraction with the identifying fields of the current content', () => {
    spec
      .given([published()])
      .when(retract())
      .then([
        {
          type: 'LearningEventRetracted',
          data: {
            EventId: EVENT_ID,
            PublisherProgramId: 'NCBON',
            PublisherSystemId: 'LB',
            EventType: 'LPI_COMP_SUCCESS',
            PublisherEventId: 'lb-42',
            PublisherParticipantId: 'p-1',
            PublisherEventCategory: { value: 'COURSE', label: 'Course' },
            CreatedUtc: CREATED,
            RetractedUtc: NOW,
          },
        },
      ]);
  });

  it('carries the category of the last amendment', () => {
    spec
      .given([published(), amended()])
      .when(retract())
      .then([retracted(CHANGED, NOW)]);
  });

  it('records nothing when the event is already retracted', () => {
    spec.given([published(), retracted()]).when(retract()).thenNothingHappens();
  });
});

describe('learning event decider: evolve', () => {
  it('keeps the original, the current content and the times', () => {
    expect(fold(learningEventDecider, [published(), amended(), retracted(CHANGED)])).toEqual({
      exists: true,
      eventId: EVENT_ID,
      content: CHANGED,
      original: content(),
      createdUtc: CREATED,
      amendedUtc: AMENDED,
      retractedUtc: RETRACTED,
    });
  });

  it('ignores amendments and retractions of an event it has not seen published', () => {
    expect(fold(learningEventDecider, [amended(), retracted()])).toEqual({ exists: false });
  });
});

/** RFC 9562 version 5, computed independently: SHA-1 over namespace bytes and name. */
const NAMESPACE = Buffer.from('4b1d7c2e9a5f4e3b8c6d0f1a2b3c4d5e', 'hex');
const uuidV5 = (name: string): string => {
  const hash = createHash('sha1')
    .update(Buffer.concat([NAMESPACE, Buffer.from(name)]))
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
const SHAPE =
  /^(?<program>.+)-(?<uuid>[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$/;

describe('eventIdFor', () => {
  it('is deterministic', () => {
    expect(eventIdFor('NCBON', 'lb-42')).toBe(eventIdFor('NCBON', 'lb-42'));
  });

  it('is `{program}-{uuid v5}` with the version nibble 5 and the RFC variant', () => {
    for (const [program, publisherEventId] of [
      ['NCBON', 'lb-42'],
      ['a', ''],
      ['x.y:z@w-v_u', 'ünïcödé / 42'],
      ['P1', 'x'.repeat(200)],
    ] as const) {
      const id = eventIdFor(program, publisherEventId);
      const match = SHAPE.exec(id);
      expect(match?.groups).toEqual({
        program,
        uuid: uuidV5(`${program}\n${publisherEventId}`),
      });
    }
  });

  it('differs per program and per PublisherEventId', () => {
    const ids = new Set([
      eventIdFor('NCBON', 'lb-42'),
      eventIdFor('NCBON', 'lb-43'),
      eventIdFor('NCBOP', 'lb-42'),
      // The separator keeps (program, id) pairs apart even when their concatenation is equal.
      eventIdFor('AB', 'C'),
      eventIdFor('A', 'BC'),
    ]);
    expect(ids.size).toBe(5);
    const uuidOf = (id: string) => SHAPE.exec(id)!.groups!.uuid;
    expect(uuidOf(eventIdFor('NCBON', 'lb-42'))).not.toBe(uuidOf(eventIdFor('NCBOP', 'lb-42')));
  });
});

describe('parseEventId', () => {
  it('round-trips eventIdFor, even for program ids containing dashes', () => {
    for (const program of ['NCBON', 'a-b-c', 'X', 'p'.repeat(25), 'org:prog@1.2_3']) {
      const id = eventIdFor(program, 'lb-42');
      const parsed = parseEventId(id);
      expect(parsed).toEqual({ programId: program, uuid: id.slice(program.length + 1) });
      expect(learningEventStream(parsed!)).toBe(
        `learning-event-${program}/${id.slice(program.length + 1)}`,
      );
    }
  });

  it.each([
    ['empty', ''],
    ['only a uuid', '0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d'],
    ['no dash before the uuid', 'NCBON0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d'],
    ['a program id too long', `${'p'.repeat(26)}-0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d`],
    ['a program id with a slash', 'NC/BON-0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d'],
    ['a program id starting with a dot', '.NCBON-0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d'],
    ['upper-case hex', 'NCBON-0B7B7E34-6F5E-5A4B-9C3D-2E1F0A9B8C7D'],
    ['a short uuid', 'NCBON-0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7'],
    ['trailing text', 'NCBON-0b7b7e34-6f5e-5a4b-9c3d-2e1f0a9b8c7d-x'],
    ['no uuid', 'NCBON-lb-42'],
  ])('rejects %s', (_, id) => {
    expect(parseEventId(id)).toBeNull();
  });
});
