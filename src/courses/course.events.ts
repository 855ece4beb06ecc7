import { DomainEvent } from '../event-sourcing/decider';
import { CourseNode } from './course-hierarchy';

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

export type CourseEvent = CourseRegistered | CourseHierarchyUpdated;
