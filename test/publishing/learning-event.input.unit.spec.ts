import { LEARNING_BUILDER_EVENT_TYPES } from '../../src/config/hub-config';
import { FieldIssue } from '../../src/errors/hub-error';
import { PROGRAM_ID_RULE } from '../../src/programs/program.decider';
import {
  EventInputLimits,
  parseLearningEvent,
  ParsedEvent,
} from '../../src/publishing/learning-event.input';

const LIMITS: EventInputLimits = {
  publisherSystemIds: ['LB'],
  eventTypes: [...LEARNING_BUILDER_EVENT_TYPES],
  eventDataMaxBytes: 1024,
};

const INSTANT_MESSAGE =
  'must be an ISO 8601 date-time with Z or an offset, e.g. 2026-12-01T09:30:00Z';

const body = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  PublisherProgramId: 'NCBON',
  PublisherSystemId: 'LB',
  EventType: 'LPI_COMP_SUCCESS',
  PublisherEventId: 'lb-42',
  PublisherParticipantId: 'p-1',
  PublisherEventCategory: { value: 'COURSE', label: 'Course' },
  PublisherEventData: { score: 93 },
  EventStartUtc: '2026-11-19T09:00:00Z',
  EventEndUtc: '2026-11-19T11:00:00Z',
  ...overrides,
});

const without = (field: string): Record<string, unknown> => {
  const copy = body();
  delete copy[field];
  return copy;
};

const parse = (raw: unknown, limits: EventInputLimits = LIMITS): ParsedEvent =>
  parseLearningEvent(raw, limits);

const issuesOf = (raw: unknown, limits: EventInputLimits = LIMITS): FieldIssue[] => {
  const result = parse(raw, limits);
  if (result.ok) throw new Error(`expected issues, got ${JSON.stringify(result.content)}`);
  return result.issues;
};

const expectOk = (raw: unknown, limits: EventInputLimits = LIMITS) => {
  const result = parse(raw, limits);
  if (!result.ok) throw new Error(`expected no issues, got ${JSON.stringify(result.issues)}`);
  return result.content;
};

describe('parseLearningEvent: a valid event', () => {
  it('returns the content, normalised', () => {
    expect(parse(body())).toEqual({
      ok: true,
      content: {
        PublisherProgramId: 'NCBON',
        PublisherSystemId: 'LB',
        EventType: 'LPI_COMP_SUCCESS',
        PublisherEventId: 'lb-42',
        PublisherParticipantId: 'p-1',
        PublisherEventCategory: { value: 'COURSE', label: 'Course' },
        PublisherEventData: { score: 93 },
        EventStartUtc: '2026-11-19T09:00:00.000Z',
        EventEndUtc: '2026-11-19T11:00:00.000Z',
      },
    });
  });

  it('makes an absent or null category null', () => {
    expect(expectOk(without('PublisherEventCategory')).PublisherEventCategory).toBeNull();
    expect(expectOk(body({ PublisherEventCategory: null })).PublisherEventCategory).toBeNull();
  });

  it('accepts every LearningBuilder event type by default', () => {
    for (const EventType of LEARNING_BUILDER_EVENT_TYPES)
      expect(expectOk(body({ EventType })).EventType).toBe(EventType);
  });
});

describe('parseLearningEvent: not an object', () => {
  it.each([
    ['an array', [body()]],
    ['null', null],
    ['a string', 'event'],
    ['a number', 42],
    ['undefined', undefined],
  ])('refuses %s', (_, raw) => {
    expect(parse(raw)).toEqual({
      ok: false,
      issues: [{ field: '', message: 'an event must be a JSON object' }],
    });
  });
});

describe('parseLearningEvent: text field limits', () => {
  // System ids and event types are also checked against the configured lists: these accept the
  // longest values allowed so that only the length decides.
  const wide: EventInputLimits = {
    ...LIMITS,
    publisherSystemIds: ['LB', 'S'.repeat(25), 'S'.repeat(26)],
    eventTypes: [...LIMITS.eventTypes, 'T'.repeat(50), 'T'.repeat(51)],
  };

  it.each([
    ['PublisherProgramId', 25, 'P'],
    ['PublisherSystemId', 25, 'S'],
    ['EventType', 50, 'T'],
    ['PublisherEventId', 200, 'e'],
    ['PublisherParticipantId', 200, 'p'],
  ])('accepts %s of %i characters and refuses one more', (field, max, char) => {
    expect(expectOk(body({ [field]: char.repeat(max) }), wide)[field as 'EventType']).toBe(
      char.repeat(max),
    );
    expect(issuesOf(body({ [field]: char.repeat(max + 1) }), wide)).toEqual([
      { field, message: `must be at most ${max} characters` },
    ]);
  });

  it('accepts one-character identifiers', () => {
    const content = expectOk(
      body({ PublisherProgramId: 'P', PublisherEventId: '1', PublisherParticipantId: 'x' }),
    );
    expect([
      content.PublisherProgramId,
      content.PublisherEventId,
      content.PublisherParticipantId,
    ]).toEqual(['P', '1', 'x']);
  });

  it.each([
    'PublisherProgramId',
    'PublisherSystemId',
    'EventType',
    'PublisherEventId',
    'PublisherParticipantId',
  ])('refuses an empty or blank %s', (field) => {
    expect(issuesOf(body({ [field]: '' }))).toEqual([{ field, message: 'must not be empty' }]);
    expect(issuesOf(body({ [field]: '   ' }))).toEqual([{ field, message: 'must not be empty' }]);
  });

  it.each(['\u0000', '\t', '\n', '\u001f', '\u007f'])(
    'refuses identifiers with the control character %j',
    (control) => {
      expect(issuesOf(body({ PublisherEventId: `lb${control}42` }))).toEqual([
        { field: 'PublisherEventId', message: 'must not contain control characters' },
      ]);
      expect(issuesOf(body({ PublisherParticipantId: `p${control}` }))).toEqual([
        { field: 'PublisherParticipantId', message: 'must not contain control characters' },
      ]);
    },
  );

  it('accepts any other characters in the publisher’s own ids', () => {
    const content = expectOk(
      body({ PublisherEventId: 'LB/42 #ünï 😀', PublisherParticipantId: 'a b@c.d' }),
    );
    expect(content.PublisherEventId).toBe('LB/42 #ünï 😀');
    expect(content.PublisherParticipantId).toBe('a b@c.d');
  });

  it.each(['NC BON', 'NC/BON', '-NCBON', '.x', 'NCBÖN'])(
    'refuses the program id %j, which cannot be part of an EventId',
    (PublisherProgramId) => {
      expect(issuesOf(body({ PublisherProgramId }))).toEqual([
        { field: 'PublisherProgramId', message: `must be ${PROGRAM_ID_RULE}` },
      ]);
    },
  );

  it('accepts program ids with the allowed punctuation', () => {
    expect(expectOk(body({ PublisherProgramId: 'a1._:@-Z' })).PublisherProgramId).toBe('a1._:@-Z');
  });
});

describe('parseLearningEvent: required fields and types', () => {
  it.each([
    'PublisherProgramId',
    'PublisherSystemId',
    'EventType',
    'PublisherEventId',
    'PublisherParticipantId',
    'PublisherEventData',
    'EventStartUtc',
  ])('requires %s (absent or null)', (field) => {
    expect(issuesOf(without(field))).toEqual([{ field, message: 'is required' }]);
    expect(issuesOf(body({ [field]: null }))).toEqual([{ field, message: 'is required' }]);
  });

  it.each([
    ['PublisherProgramId', 42],
    ['PublisherSystemId', ['LB']],
    ['EventType', true],
    ['PublisherEventId', 42],
    ['PublisherParticipantId', { id: 'p-1' }],
  ])('refuses %s that is not a string', (field, value) => {
    expect(issuesOf(body({ [field]: value }))).toEqual([{ field, message: 'must be a string' }]);
  });

  it('refuses unknown fields, naming each', () => {
    expect(issuesOf(body({ Foo: 1, eventType: 'LPI_STARTED' }))).toEqual([
      { field: 'Foo', message: 'is not a field of an event' },
      { field: 'eventType', message: 'is not a field of an event' },
    ]);
  });

  it.each(['EventId', 'CreatedUtc'])('refuses %s, which the hub assigns', (field) => {
    expect(issuesOf(body({ [field]: 'x' }))).toEqual([
      { field, message: 'is assigned by the hub and must not be sent' },
    ]);
  });
});

describe('parseLearningEvent: configurable system ids and event types', () => {
  it('accepts only the configured system ids', () => {
    expect(issuesOf(body({ PublisherSystemId: 'XY' }))).toEqual([
      { field: 'PublisherSystemId', message: 'must be one of LB' },
    ]);
    expect(issuesOf(body({ PublisherSystemId: 'lb' }))).toEqual([
      { field: 'PublisherSystemId', message: 'must be one of LB' },
    ]);
    const limits = { ...LIMITS, publisherSystemIds: ['LB', 'XY'] };
    expect(expectOk(body({ PublisherSystemId: 'XY' }), limits).PublisherSystemId).toBe('XY');
    expect(issuesOf(body(), { ...LIMITS, publisherSystemIds: ['XY', 'ZZ'] })).toEqual([
      { field: 'PublisherSystemId', message: 'must be one of XY, ZZ' },
    ]);
  });

  it('accepts only the configured event types', () => {
    expect(issuesOf(body({ EventType: 'COURSE_DONE' }))).toEqual([
      {
        field: 'EventType',
        message: `must be one of ${LEARNING_BUILDER_EVENT_TYPES.join(', ')}`,
      },
    ]);
    const limits = { ...LIMITS, eventTypes: ['COURSE_DONE'] };
    expect(expectOk(body({ EventType: 'COURSE_DONE' }), limits).EventType).toBe('COURSE_DONE');
    expect(issuesOf(body(), limits)).toEqual([
      { field: 'EventType', message: 'must be one of COURSE_DONE' },
    ]);
  });
});

describe('parseLearningEvent: PublisherEventData', () => {
  // {"d":"…"} is 8 bytes around the text.
  const sized = (text: string) => body({ PublisherEventData: { d: text } });
  const tooBig = (bytes: number) => [
    {
      field: 'PublisherEventData',
      message: `must be at most 1024 bytes as JSON (it is ${bytes})`,
    },
  ];

  it('accepts data of exactly the limit and refuses one byte more', () => {
    expect(expectOk(sized('x'.repeat(1016))).PublisherEventData).toEqual({ d: 'x'.repeat(1016) });
    expect(issuesOf(sized('x'.repeat(1017)))).toEqual(tooBig(1025));
  });

  it('counts UTF-8 bytes, not characters', () => {
    // é is 2 bytes, € 3 and 😀 4 in UTF-8.
    expect(expectOk(sized('é'.repeat(508))).PublisherEventData).toEqual({ d: 'é'.repeat(508) });
    expect(issuesOf(sized('é'.repeat(509)))).toEqual(tooBig(1026));
    expect(issuesOf(sized('€'.repeat(339)))).toEqual(tooBig(1025));
    expect(expectOk(sized('😀'.repeat(254))).PublisherEventData).toEqual({ d: '😀'.repeat(254) });
    expect(issuesOf(sized('😀'.repeat(255)))).toEqual(tooBig(1028));
  });

  it('counts the data as JSON, with its escapes', () => {
    // Each quote is escaped: 2 bytes in JSON.
    expect(expectOk(sized('"'.repeat(508))).PublisherEventData).toEqual({ d: '"'.repeat(508) });
    expect(issuesOf(sized('"'.repeat(509)))).toEqual(tooBig(1026));
  });

  it('uses the configured limit', () => {
    expect(issuesOf(sized('x'.repeat(3)), { ...LIMITS, eventDataMaxBytes: 10 })).toEqual([
      { field: 'PublisherEventData', message: 'must be at most 10 bytes as JSON (it is 11)' },
    ]);
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', '{"a":1}'],
    ['a number', 7],
    ['a boolean', false],
  ])('refuses data that is %s', (_, PublisherEventData) => {
    expect(issuesOf(body({ PublisherEventData }))).toEqual([
      { field: 'PublisherEventData', message: 'must be a JSON object' },
    ]);
  });

  it('accepts an empty object and nested values', () => {
    expect(expectOk(body({ PublisherEventData: {} })).PublisherEventData).toEqual({});
    const nested = { a: [1, { b: null }], c: { d: true } };
    expect(expectOk(body({ PublisherEventData: nested })).PublisherEventData).toEqual(nested);
  });

  it('refuses NUL characters anywhere in the data, values or keys', () => {
    const nul = [{ field: 'PublisherEventData', message: 'must not contain NUL characters' }];
    expect(issuesOf(body({ PublisherEventData: { a: 'x\u0000y' } }))).toEqual(nul);
    expect(issuesOf(body({ PublisherEventData: { deep: [{ b: '\u0000' }] } }))).toEqual(nul);
    expect(issuesOf(body({ PublisherEventData: { ['k\u0000']: 1 } }))).toEqual(nul);
  });

  it('accepts other control characters in the data', () => {
    expect(
      expectOk(body({ PublisherEventData: { a: 'line\nbreak\ttab' } })).PublisherEventData,
    ).toEqual({ a: 'line\nbreak\ttab' });
  });

  it('accepts text that only looks like an escaped NUL', () => {
    // A backslash followed by "u0000" is six ordinary characters, not a NUL.
    expect(
      expectOk(body({ PublisherEventData: { path: 'C:\\u0000' } })).PublisherEventData,
    ).toEqual({ path: 'C:\\u0000' });
  });
});

describe('parseLearningEvent: PublisherEventCategory', () => {
  const category = (PublisherEventCategory: unknown) => body({ PublisherEventCategory });

  it('accepts a value of 100 characters and refuses 101', () => {
    expect(expectOk(category({ value: 'v'.repeat(100) })).PublisherEventCategory).toEqual({
      value: 'v'.repeat(100),
      label: null,
    });
    expect(issuesOf(category({ value: 'v'.repeat(101) }))).toEqual([
      { field: 'PublisherEventCategory.value', message: 'must be at most 100 characters' },
    ]);
  });

  it('requires a non-empty string value', () => {
    for (const value of [undefined, null, '', '  ', 42])
      expect(issuesOf(category({ value, label: 'x' }))).toEqual([
        { field: 'PublisherEventCategory.value', message: 'must be a non-empty string' },
      ]);
  });

  it('refuses control characters in the value', () => {
    expect(issuesOf(category({ value: 'CO\nURSE' }))).toEqual([
      { field: 'PublisherEventCategory.value', message: 'must not contain control characters' },
    ]);
  });

  it('refuses *_default, the name of subscribers’ fallback template', () => {
    expect(issuesOf(category({ value: '*_default' }))).toEqual([
      {
        field: 'PublisherEventCategory.value',
        message: "must not be *_default, which names subscribers' fallback",
      },
    ]);
    expect(expectOk(category({ value: '*_default_x' })).PublisherEventCategory).toEqual({
      value: '*_default_x',
      label: null,
    });
  });

  it('accepts a label of up to 200 characters, null or absent', () => {
    expect(
      expectOk(category({ value: 'C', label: 'l'.repeat(200) })).PublisherEventCategory,
    ).toEqual({ value: 'C', label: 'l'.repeat(200) });
    expect(expectOk(category({ value: 'C', label: null })).PublisherEventCategory).toEqual({
      value: 'C',
      label: null,
    });
    expect(expectOk(category({ value: 'C', label: '' })).PublisherEventCategory).toEqual({
      value: 'C',
      label: '',
    });
  });

  it('refuses a label over 200 characters or not a string', () => {
    const refused = [
      {
        field: 'PublisherEventCategory.label',
        message: 'must be a string of at most 200 characters',
      },
    ];
    expect(issuesOf(category({ value: 'C', label: 'l'.repeat(201) }))).toEqual(refused);
    expect(issuesOf(category({ value: 'C', label: 7 }))).toEqual(refused);
  });

  it('refuses unknown fields and a category that is not an object', () => {
    expect(issuesOf(category({ value: 'C', code: 'x' }))).toEqual([
      { field: 'PublisherEventCategory.code', message: 'is not a field of a category' },
    ]);
    for (const value of ['COURSE', ['COURSE'], 3])
      expect(issuesOf(category(value))).toEqual([
        { field: 'PublisherEventCategory', message: 'must be an object {value, label}' },
      ]);
  });
});

describe('parseLearningEvent: EventStartUtc and EventEndUtc', () => {
  it.each([
    ['2026-11-19T09:00:00Z', '2026-11-19T09:00:00.000Z'],
    ['2026-11-19T09:00Z', '2026-11-19T09:00:00.000Z'],
    ['2026-11-19T09:00:00.5Z', '2026-11-19T09:00:00.500Z'],
    ['2026-11-19T09:00:00.123456789Z', '2026-11-19T09:00:00.123Z'],
    ['2026-11-19T11:30:00+02:30', '2026-11-19T09:00:00.000Z'],
    ['2026-11-19T01:00:00-08:00', '2026-11-19T09:00:00.000Z'],
    ['2026-11-20T00:30:00+01:00', '2026-11-19T23:30:00.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('normalises %s to %s', (EventStartUtc, normalised) => {
    expect(expectOk(body({ EventStartUtc, EventEndUtc: null })).EventStartUtc).toBe(normalised);
    expect(
      expectOk(body({ EventStartUtc: '2026-01-01T00:00:00Z', EventEndUtc: EventStartUtc }))
        .EventEndUtc,
    ).toBe(normalised);
  });

  it.each([
    ['an impossible day', '2026-02-30T10:00:00Z'],
    ['29 February of a common year', '2026-02-29T10:00:00Z'],
    ['month 13', '2026-13-01T10:00:00Z'],
    ['hour 24', '2026-11-19T24:00:00Z'],
    ['minute 60', '2026-11-19T10:60:00Z'],
    ['second 60', '2026-11-19T10:00:60Z'],
    ['no zone', '2026-11-19T10:00:00'],
    ['a date only', '2026-11-19'],
    ['a space instead of T', '2026-11-19 10:00:00Z'],
    ['an offset without colon', '2026-11-19T10:00:00+0200'],
    ['an offset of 24 hours', '2026-11-19T10:00:00+24:00'],
    ['free text', 'yesterday'],
    ['an empty string', ''],
  ])('refuses %s', (_, value) => {
    expect(issuesOf(body({ EventStartUtc: value, EventEndUtc: null }))).toEqual([
      { field: 'EventStartUtc', message: INSTANT_MESSAGE },
    ]);
    expect(issuesOf(body({ EventEndUtc: value }))).toEqual([
      { field: 'EventEndUtc', message: INSTANT_MESSAGE },
    ]);
  });

  it('keeps an instant sent in its normal form, which is what normalising it gives', () => {
    let seed = 7;
    const next = (range: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % range;
    };
    for (let i = 0; i < 2_000; i++) {
      const instant = new Date(Date.UTC(1900, 0, 1) + next(2 ** 31) * 100_000 + next(1_000));
      const sent = instant.toISOString();
      expect(expectOk(body({ EventStartUtc: sent, EventEndUtc: null })).EventStartUtc).toBe(sent);
    }
    // The normal form's shape with an impossible value is still refused.
    expect(
      issuesOf(body({ EventStartUtc: '2026-02-30T10:00:00.000Z', EventEndUtc: null })),
    ).toEqual([{ field: 'EventStartUtc', message: INSTANT_MESSAGE }]);
  });

  it('refuses an instant that is not a string', () => {
    expect(issuesOf(body({ EventStartUtc: 1763542800000 }))).toEqual([
      { field: 'EventStartUtc', message: INSTANT_MESSAGE },
    ]);
  });

  it('makes an absent or null end null', () => {
    expect(expectOk(without('EventEndUtc')).EventEndUtc).toBeNull();
    expect(expectOk(body({ EventEndUtc: null })).EventEndUtc).toBeNull();
  });

  it('accepts an end equal to the start and refuses one before it, comparing instants', () => {
    expect(
      expectOk(body({ EventStartUtc: '2026-11-19T09:00:00Z', EventEndUtc: '2026-11-19T09:00:00Z' }))
        .EventEndUtc,
    ).toBe('2026-11-19T09:00:00.000Z');
    expect(
      issuesOf(
        body({ EventStartUtc: '2026-11-19T09:00:00Z', EventEndUtc: '2026-11-19T08:59:59Z' }),
      ),
    ).toEqual([{ field: 'EventEndUtc', message: 'must not be before EventStartUtc' }]);
    // 10:00+02:00 is 08:00Z, after 07:30Z although its local time reads earlier.
    expect(
      expectOk(
        body({ EventStartUtc: '2026-11-19T09:30:00+02:00', EventEndUtc: '2026-11-19T08:00:00Z' }),
      ).EventEndUtc,
    ).toBe('2026-11-19T08:00:00.000Z');
    expect(
      issuesOf(
        body({ EventStartUtc: '2026-11-19T08:00:00Z', EventEndUtc: '2026-11-19T09:00:00+02:00' }),
      ),
    ).toEqual([{ field: 'EventEndUtc', message: 'must not be before EventStartUtc' }]);
  });
});

describe('parseLearningEvent: every problem at once', () => {
  it('lists all issues in one answer', () => {
    expect(
      issuesOf({
        EventId: 'x',
        Extra: true,
        PublisherProgramId: 'p'.repeat(26),
        PublisherSystemId: 'XY',
        EventType: 42,
        PublisherEventId: '',
        PublisherCategory: 'oops',
        PublisherEventCategory: { value: '*_default', label: 5, extra: 1 },
        PublisherEventData: [],
        EventStartUtc: '2026-02-30T10:00:00Z',
        EventEndUtc: 'soon',
      }),
    ).toEqual([
      { field: 'EventId', message: 'is assigned by the hub and must not be sent' },
      { field: 'Extra', message: 'is not a field of an event' },
      { field: 'PublisherCategory', message: 'is not a field of an event' },
      { field: 'PublisherProgramId', message: 'must be at most 25 characters' },
      { field: 'PublisherSystemId', message: 'must be one of LB' },
      { field: 'EventType', message: 'must be a string' },
      { field: 'PublisherEventId', message: 'must not be empty' },
      { field: 'PublisherParticipantId', message: 'is required' },
      { field: 'PublisherEventCategory.extra', message: 'is not a field of a category' },
      {
        field: 'PublisherEventCategory.value',
        message: "must not be *_default, which names subscribers' fallback",
      },
      {
        field: 'PublisherEventCategory.label',
        message: 'must be a string of at most 200 characters',
      },
      { field: 'PublisherEventData', message: 'must be a JSON object' },
      { field: 'EventStartUtc', message: INSTANT_MESSAGE },
      { field: 'EventEndUtc', message: INSTANT_MESSAGE },
    ]);
  });

  it('reports an end before the start together with the other problems', () => {
    expect(
      issuesOf(
        body({
          PublisherParticipantId: 'p'.repeat(201),
          EventStartUtc: '2026-11-19T09:00:00Z',
          EventEndUtc: '2026-11-18T09:00:00Z',
        }),
      ),
    ).toEqual([
      { field: 'PublisherParticipantId', message: 'must be at most 200 characters' },
      { field: 'EventEndUtc', message: 'must not be before EventStartUtc' },
    ]);
  });
});
