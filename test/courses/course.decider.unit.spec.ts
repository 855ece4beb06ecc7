import { Actor } from '../../src/auth/principal';
import { CourseNode } from '../../src/courses/course.events';
import {
  courseDecider,
  RegisterCourse,
  UpdateCourseHierarchy,
} from '../../src/courses/course.decider';
import { CourseEvent } from '../../src/courses/course.events';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../../src/errors/hub-error';
import { deciderSpecification } from '../support/decider-specification';

const spec = deciderSpecification(courseDecider);

const ORG = 'org-1';
const OTHER_ORG = 'org-2';
const now = new Date('2026-11-22T10:00:00.000Z');
const NOW = now.toISOString();

const creator: Actor = { userId: 'u-creator', organisationId: ORG, roles: ['CONTENT_CREATOR'] };
const otherCreator: Actor = { userId: 'u-writer', organisationId: ORG, roles: ['CONTENT_CREATOR'] };
const orgAdmin: Actor = { userId: 'u-admin', organisationId: ORG, roles: ['ORG_ADMIN'] };
const systemAdmin: Actor = { userId: 'u-root', organisationId: 'system', roles: ['SYSTEM_ADMIN'] };
const learner: Actor = { userId: 'u-learner', organisationId: ORG, roles: ['LEARNER'] };
const foreignCreator: Actor = {
  userId: 'u-foreign',
  organisationId: OTHER_ORG,
  roles: ['CONTENT_CREATOR'],
};
const foreignAdmin: Actor = {
  userId: 'u-foreign-admin',
  organisationId: OTHER_ORG,
  roles: ['ORG_ADMIN'],
};

const children: CourseNode[] = [
  {
    kind: 'unit',
    id: 'unit-1',
    name: 'Basics',
    children: [
      { kind: 'content', id: 'video-1', name: 'Welcome', optional: false },
      { kind: 'assessment', id: 'quiz-1', name: 'Check', optional: true, maxScore: 10 },
    ],
  },
];

const revised: CourseNode[] = [
  ...children,
  { kind: 'content', id: 'video-2', name: 'Wrap-up', optional: false },
];

const register = (overrides: Partial<RegisterCourse> = {}): RegisterCourse => ({
  type: 'RegisterCourse',
  courseId: 'course-1',
  name: 'Fractions',
  organisationId: ORG,
  trackable: true,
  children,
  userConsent: false,
  lmsResourceLink: null,
  actor: creator,
  now,
  ...overrides,
});

const updateHierarchy = (nodes: CourseNode[], actor: Actor = creator): UpdateCourseHierarchy => ({
  type: 'UpdateCourseHierarchy',
  courseId: 'course-1',
  children: nodes,
  actor,
  now,
});

const registered: CourseEvent = {
  type: 'CourseRegistered',
  data: {
    courseId: 'course-1',
    name: 'Fractions',
    organisationId: ORG,
    createdBy: 'u-creator',
    children,
    hierarchyVersion: 1,
    registeredAt: '2026-11-01T09:00:00.000Z',
  },
};

const hierarchyUpdated = (version: number, updatedBy = 'u-creator'): CourseEvent => ({
  type: 'CourseHierarchyUpdated',
  data: {
    courseId: 'course-1',
    children: revised,
    hierarchyVersion: version,
    updatedBy,
    updatedAt: NOW,
  },
});

describe('course decider: RegisterCourse', () => {
  it('registers a course for a CONTENT_CREATOR, as version 1 created by the caller', () => {
    spec
      .given([])
      .when(register())
      .then([
        {
          type: 'CourseRegistered',
          data: {
            courseId: 'course-1',
            name: 'Fractions',
            organisationId: ORG,
            createdBy: 'u-creator',
            children,
            hierarchyVersion: 1,
            registeredAt: NOW,
          },
        },
      ]);
  });

  it('records that a course asks its learners for consent, and reads old courses as not asking', () => {
    const [asking] = courseDecider.decide(register({ userConsent: true }), { exists: false });
    expect(asking?.data).toMatchObject({ userConsent: true });
    const [plain] = courseDecider.decide(register(), { exists: false });
    expect(plain?.data).not.toHaveProperty('userConsent');
    expect(courseDecider.evolve({ exists: false }, plain!)).toMatchObject({ userConsent: false });
    expect(courseDecider.evolve({ exists: false }, asking!)).toMatchObject({ userConsent: true });
  });

  it('lets an ORG_ADMIN register a course for its organisation', () => {
    const [event] = courseDecider.decide(
      register({ actor: orgAdmin }),
      courseDecider.initialState(),
    );
    expect(event).toMatchObject({ type: 'CourseRegistered', data: { createdBy: 'u-admin' } });
  });

  it('lets a SYSTEM_ADMIN register a course for any organisation', () => {
    const [event] = courseDecider.decide(
      register({ actor: systemAdmin, organisationId: OTHER_ORG }),
      courseDecider.initialState(),
    );
    expect(event).toMatchObject({
      type: 'CourseRegistered',
      data: { createdBy: 'u-root', organisationId: OTHER_ORG },
    });
  });

  it('refuses a LEARNER', () => {
    spec
      .given([])
      .when(register({ actor: learner }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a CONTENT_CREATOR registering for another organisation', () => {
    spec
      .given([])
      .when(register({ actor: foreignCreator }))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });

  it('refuses a collection that is not trackable', () => {
    spec
      .given([])
      .when(register({ trackable: false }))
      .thenThrows(InvalidInputError, { code: 'COLLECTION_NOT_TRACKABLE' });
  });

  it('refuses duplicate node ids', () => {
    spec
      .given([])
      .when(
        register({
          children: [
            { kind: 'content', id: 'c1', name: 'One', optional: false },
            { kind: 'content', id: 'c1', name: 'Again', optional: false },
          ],
        }),
      )
      .thenThrows(InvalidInputError, {
        code: 'INVALID_HIERARCHY',
        issues: [{ field: 'children[1].id', message: 'duplicate node id "c1"' }],
      });
  });

  it('refuses a unit without children', () => {
    spec
      .given([])
      .when(
        register({
          children: [
            { kind: 'unit', id: 'u1', name: 'Empty', children: [] },
            { kind: 'content', id: 'c1', name: 'One', optional: false },
          ],
        }),
      )
      .thenThrows(InvalidInputError, {
        code: 'INVALID_HIERARCHY',
        issues: [{ field: 'children[0].children', message: 'a unit needs at least one child' }],
      });
  });

  it('refuses a hierarchy without any required content', () => {
    spec
      .given([])
      .when(
        register({
          children: [
            { kind: 'content', id: 'c1', name: 'One', optional: true },
            { kind: 'assessment', id: 'a1', name: 'Quiz', optional: true, maxScore: 5 },
          ],
        }),
      )
      .thenThrows(InvalidInputError, {
        code: 'INVALID_HIERARCHY',
        issues: [{ field: 'children', message: 'a course needs at least one required content' }],
      });
  });

  it.each([0, -1, 2.5, 1_000_001, Number.NaN])(
    'refuses an assessment whose maxScore is %p: its attempts are scored out of it',
    (maxScore) => {
      spec
        .given([])
        .when(
          register({
            children: [
              { kind: 'content', id: 'c1', name: 'One', optional: false },
              { kind: 'assessment', id: 'a1', name: 'Quiz', optional: false, maxScore },
            ],
          }),
        )
        .thenThrows(InvalidInputError, {
          code: 'INVALID_HIERARCHY',
          issues: [
            {
              field: 'children[1].maxScore',
              message: 'an assessment needs a maxScore, a whole number from 1 to 1000000',
            },
          ],
        });
    },
  );

  it('refuses a course id that is already registered', () => {
    spec
      .given([registered])
      .when(register())
      .thenThrows(ConflictError, { code: 'COURSE_ALREADY_EXISTS' });
  });
});

describe('course decider: UpdateCourseHierarchy', () => {
  it('records a new hierarchy for the creator as version 2', () => {
    spec
      .given([registered])
      .when(updateHierarchy(revised))
      .then([hierarchyUpdated(2)]);
  });

  it('counts versions on from the last update', () => {
    const again: CourseNode[] = [
      ...revised,
      { kind: 'content', id: 'video-3', name: 'Extra', optional: true },
    ];
    spec
      .given([registered, hierarchyUpdated(2)])
      .when(updateHierarchy(again))
      .then([
        {
          type: 'CourseHierarchyUpdated',
          data: {
            courseId: 'course-1',
            children: again,
            hierarchyVersion: 3,
            updatedBy: 'u-creator',
            updatedAt: NOW,
          },
        },
      ]);
  });

  it('lets an ORG_ADMIN of the organisation update the hierarchy', () => {
    spec
      .given([registered])
      .when(updateHierarchy(revised, orgAdmin))
      .then([hierarchyUpdated(2, 'u-admin')]);
  });

  it('does nothing for an identical hierarchy', () => {
    spec.given([registered]).when(updateHierarchy(children)).thenNothingHappens();
  });

  it('compares hierarchies by value, not by key order', () => {
    const reordered = [
      {
        children: [
          { optional: false, name: 'Welcome', id: 'video-1', kind: 'content' },
          { maxScore: 10, optional: true, name: 'Check', id: 'quiz-1', kind: 'assessment' },
        ],
        name: 'Basics',
        id: 'unit-1',
        kind: 'unit',
      },
    ] as CourseNode[];
    spec.given([registered]).when(updateHierarchy(reordered)).thenNothingHappens();
  });

  it('refuses an unsound hierarchy', () => {
    spec
      .given([registered])
      .when(updateHierarchy([{ kind: 'unit', id: 'u1', name: 'Empty', children: [] }]))
      .thenThrows(InvalidInputError, { code: 'INVALID_HIERARCHY' });
  });

  it('hides the course from another organisation', () => {
    spec
      .given([registered])
      .when(updateHierarchy(revised, foreignAdmin))
      .thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND' });
  });

  it('refuses a course that does not exist', () => {
    spec
      .given([])
      .when(updateHierarchy(revised))
      .thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND' });
  });

  it('refuses a user of the same organisation who neither created the course nor administers', () => {
    spec
      .given([registered])
      .when(updateHierarchy(revised, otherCreator))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
  });
});

describe('course decider: SetCourseLmsResourceLink', () => {
  const LINK = 'https://lms.test/courses/course-v1:hub+A+2026/course';
  const setLink = (lmsResourceLink: string | null, actor: Actor = creator) => ({
    type: 'SetCourseLmsResourceLink' as const,
    courseId: 'course-1',
    lmsResourceLink,
    actor,
    now,
  });
  const changed = (from: string | null, to: string | null): CourseEvent => ({
    type: 'CourseLmsResourceLinkChanged',
    data: { courseId: 'course-1', from, to, changedBy: 'u-creator', changedAt: NOW },
  });

  it('records a course registered with a link, and reads older courses as without one', () => {
    const [event] = courseDecider.decide(
      register({ lmsResourceLink: LINK }),
      courseDecider.initialState(),
    );
    expect(event).toMatchObject({ data: { lmsResourceLink: LINK } });
    expect(courseDecider.evolve({ exists: false }, registered)).toMatchObject({
      lmsResourceLink: null,
    });
  });

  it('moves the course to a link, and away from it', () => {
    spec
      .given([registered])
      .when(setLink(LINK))
      .then([changed(null, LINK)]);
    spec
      .given([registered, changed(null, LINK)])
      .when(setLink(null))
      .then([changed(LINK, null)]);
  });

  it('does nothing when the link is the one it has', () => {
    spec
      .given([registered, changed(null, LINK)])
      .when(setLink(LINK))
      .thenNothingHappens();
  });

  it('lets only the creator or an admin change it, and hides it from other organisations', () => {
    spec
      .given([registered])
      .when(setLink(LINK, otherCreator))
      .thenThrows(ForbiddenError, { code: 'UNAUTHORIZED_USER' });
    spec
      .given([registered])
      .when(setLink(LINK, foreignAdmin))
      .thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND' });
    spec.given([]).when(setLink(LINK)).thenThrows(NotFoundError, { code: 'COURSE_NOT_FOUND' });
  });
});
