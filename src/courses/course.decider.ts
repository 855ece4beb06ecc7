import { Actor, hasRole, isAdminOf } from '../auth/principal';
import {
  ConflictError,
  FieldIssue,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from '../errors/hub-error';
import { sameJson } from '../event-sourcing/canonical-json';
import { Decider } from '../event-sourcing/decider';
import { CourseEvent, CourseNode, leavesOf } from './course.events';

export const MAX_NODES = 5_000;
export const MAX_DEPTH = 12;
export const MAX_ASSESSMENT_SCORE = 1_000_000;

/** Problems that make a hierarchy unusable for tracking progress; empty when it is sound. */
export const hierarchyIssues = (children: readonly CourseNode[]): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  let count = 0;
  const walk = (nodes: readonly CourseNode[], path: string, depth: number) => {
    nodes.forEach((node, index) => {
      const at = `${path}[${index}]`;
      count += 1;
      if (seen.has(node.id))
        issues.push({ field: `${at}.id`, message: `duplicate node id "${node.id}"` });
      seen.add(node.id);
      if (depth > MAX_DEPTH)
        issues.push({ field: at, message: `units nest at most ${MAX_DEPTH} deep` });
      else if (node.kind === 'unit') {
        if (node.children.length === 0)
          issues.push({ field: `${at}.children`, message: 'a unit needs at least one child' });
        walk(node.children, `${at}.children`, depth + 1);
      } else if (
        node.kind === 'assessment' &&
        !(
          Number.isInteger(node.maxScore) &&
          node.maxScore >= 1 &&
          node.maxScore <= MAX_ASSESSMENT_SCORE
        )
      )
        // Its attempts are scored out of it: the learner's client does not set the maximum.
        issues.push({
          field: `${at}.maxScore`,
          message: `an assessment needs a maxScore, a whole number from 1 to ${MAX_ASSESSMENT_SCORE}`,
        });
    });
  };
  walk(children, 'children', 1);
  if (count > MAX_NODES)
    issues.push({ field: 'children', message: `a course has at most ${MAX_NODES} nodes` });
  if (!leavesOf(children).some((leaf) => !leaf.optional))
    issues.push({ field: 'children', message: 'a course needs at least one required content' });
  return issues;
};

export const sameHierarchy = (a: readonly CourseNode[], b: readonly CourseNode[]): boolean =>
  sameJson(a, b);

export type RegisterCourse = {
  type: 'RegisterCourse';
  courseId: string;
  name: string;
  organisationId: string;
  trackable: boolean;
  children: CourseNode[];
  userConsent: boolean;
  lmsResourceLink: string | null;
  actor: Actor;
  now: Date;
};

export type UpdateCourseHierarchy = {
  type: 'UpdateCourseHierarchy';
  courseId: string;
  children: CourseNode[];
  actor: Actor;
  now: Date;
};

export type SetCourseLmsResourceLink = {
  type: 'SetCourseLmsResourceLink';
  courseId: string;
  lmsResourceLink: string | null;
  actor: Actor;
  now: Date;
};

export type CourseCommand = RegisterCourse | UpdateCourseHierarchy | SetCourseLmsResourceLink;

export type CourseState =
  | { exists: false }
  | {
      exists: true;
      courseId: string;
      name: string;
      organisationId: string;
      createdBy: string;
      children: CourseNode[];
      hierarchyVersion: number;
      registeredAt: string;
      updatedAt: string;
      userConsent: boolean;
      lmsResourceLink: string | null;
    };

export const courseNotFound = (courseId: string) =>
  new NotFoundError('COURSE_NOT_FOUND', `No course ${courseId}`, { courseId });

const assertSoundHierarchy = (children: CourseNode[]) => {
  const issues = hierarchyIssues(children);
  if (issues.length > 0)
    throw new InvalidInputError('The course hierarchy is not valid', issues, 'INVALID_HIERARCHY');
};

/** Only the course's creator or an admin of its organisation changes it; others do not see it. */
function assertCourseEditor(
  command: { courseId: string; actor: Actor },
  state: CourseState,
  what: string,
): asserts state is Extract<CourseState, { exists: true }> {
  const { actor } = command;
  if (
    !state.exists ||
    (actor.organisationId !== state.organisationId && !isAdminOf(actor, state.organisationId))
  )
    throw courseNotFound(command.courseId);
  if (actor.userId !== state.createdBy && !isAdminOf(actor, state.organisationId))
    throw new ForbiddenError(
      'UNAUTHORIZED_USER',
      `Only the course’s creator or an admin changes its ${what}`,
    );
}

export const courseDecider: Decider<CourseCommand, CourseEvent, CourseState> = {
  initialState: () => ({ exists: false }),

  decide: (command, state) => {
    const { actor } = command;
    switch (command.type) {
      case 'RegisterCourse': {
        if (!hasRole(actor, 'CONTENT_CREATOR') && !isAdminOf(actor, command.organisationId))
          throw new ForbiddenError(
            'UNAUTHORIZED_USER',
            'Only content creators and admins register courses',
          );
        if (
          actor.organisationId !== command.organisationId &&
          !isAdminOf(actor, command.organisationId)
        )
          throw new ForbiddenError(
            'UNAUTHORIZED_USER',
            'Courses are registered for the caller’s own organisation',
          );
        if (!command.trackable)
          throw new InvalidInputError(
            'Only trackable collections (trackable.enabled true) can be registered as courses',
            [{ field: 'trackable.enabled', message: 'must be true' }],
            'COLLECTION_NOT_TRACKABLE',
          );
        assertSoundHierarchy(command.children);
        if (state.exists)
          throw new ConflictError(
            'COURSE_ALREADY_EXISTS',
            `Course ${command.courseId} already exists`,
            {
              courseId: command.courseId,
            },
          );
        return [
          {
            type: 'CourseRegistered',
            data: {
              courseId: command.courseId,
              name: command.name,
              organisationId: command.organisationId,
              createdBy: actor.userId,
              children: command.children,
              hierarchyVersion: 1,
              registeredAt: command.now.toISOString(),
              ...(command.userConsent ? { userConsent: true } : {}),
              ...(command.lmsResourceLink === null
                ? {}
                : { lmsResourceLink: command.lmsResourceLink }),
            },
          },
        ];
      }
      case 'UpdateCourseHierarchy': {
        assertCourseEditor(command, state, 'hierarchy');
        assertSoundHierarchy(command.children);
        if (sameHierarchy(state.children, command.children)) return [];
        return [
          {
            type: 'CourseHierarchyUpdated',
            data: {
              courseId: command.courseId,
              children: command.children,
              hierarchyVersion: state.hierarchyVersion + 1,
              updatedBy: actor.userId,
              updatedAt: command.now.toISOString(),
            },
          },
        ];
      }
      case 'SetCourseLmsResourceLink': {
        assertCourseEditor(command, state, 'LMS resource link');
        if (state.lmsResourceLink === command.lmsResourceLink) return [];
        return [
          {
            type: 'CourseLmsResourceLinkChanged',
            data: {
              courseId: command.courseId,
              from: state.lmsResourceLink,
              to: command.lmsResourceLink,
              changedBy: actor.userId,
              changedAt: command.now.toISOString(),
            },
          },
        ];
      }
      default: {
        const unknownCommand: never = command;
        return unknownCommand;
      }
    }
  },

  evolve: (state, event) => {
    switch (event.type) {
      case 'CourseRegistered':
        return {
          exists: true,
          ...event.data,
          userConsent: event.data.userConsent ?? false,
          lmsResourceLink: event.data.lmsResourceLink ?? null,
          updatedAt: event.data.registeredAt,
        };
      case 'CourseHierarchyUpdated':
        return state.exists
          ? {
              ...state,
              children: event.data.children,
              hierarchyVersion: event.data.hierarchyVersion,
              updatedAt: event.data.updatedAt,
            }
          : state;
      case 'CourseLmsResourceLinkChanged':
        return state.exists
          ? { ...state, lmsResourceLink: event.data.to, updatedAt: event.data.changedAt }
          : state;
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};
