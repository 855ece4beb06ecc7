import { DomainEvent } from '../event-sourcing/decider';

// The hierarchy as events carry it, and how to walk it.
/** A course is a tree: units nest; contents and assessments are its leaves. */
export type CourseNode =
  | { kind: 'unit'; id: string; name: string; children: CourseNode[] }
  | { kind: 'content'; id: string; name: string; optional: boolean }
  | { kind: 'assessment'; id: string; name: string; optional: boolean; maxScore: number };

export type CourseLeaf = Exclude<CourseNode, { kind: 'unit' }>;

export const leavesOf = (nodes: readonly CourseNode[]): CourseLeaf[] =>
  nodes.flatMap((node) => (node.kind === 'unit' ? leavesOf(node.children) : [node]));

export const unitsOf = (nodes: readonly CourseNode[]): Extract<CourseNode, { kind: 'unit' }>[] =>
  nodes.flatMap((node) => (node.kind === 'unit' ? [node, ...unitsOf(node.children)] : []));

export const COURSE_STREAM_PREFIX = 'course-';
export const courseStream = (courseId: string): string => `${COURSE_STREAM_PREFIX}${courseId}`;

export type CourseRegistered = DomainEvent<
  'CourseRegistered',
  {
    courseId: string;
    name: string;
    organisationId: string;
    createdBy: string;
    children: CourseNode[];
    hierarchyVersion: number;
    registeredAt: string;
    /**
     * Whether the course asks its learners for consent to share their personal data with the
     * batch's organisation (the reference's `userConsent`): what a user-info report needs.
     * Absent in courses registered before it existed: no.
     */
    userConsent?: boolean;
    /** Where the course runs in an external LMS (LMS_BACKENDS selects it); absent: nowhere. */
    lmsResourceLink?: string;
  }
>;

/** A new version of the tree; progress is computed against the current one. */
export type CourseHierarchyUpdated = DomainEvent<
  'CourseHierarchyUpdated',
  {
    courseId: string;
    children: CourseNode[];
    hierarchyVersion: number;
    updatedBy: string;
    updatedAt: string;
  }
>;

/** The course moved to (or away from) a course run of an external LMS. */
export type CourseLmsResourceLinkChanged = DomainEvent<
  'CourseLmsResourceLinkChanged',
  {
    courseId: string;
    from: string | null;
    to: string | null;
    changedBy: string;
    changedAt: string;
  }
>;

export type CourseEvent = CourseRegistered | CourseHierarchyUpdated | CourseLmsResourceLinkChanged;
