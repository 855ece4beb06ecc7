import { leavesOf } from '../../src/courses/course.events';
import {
  COURSE_STREAM_PREFIX,
  CourseEvent,
  CourseRegistered,
} from '../../src/courses/course.events';
import { defineProjection } from '../engine/projection';
import { COURSES_READ_MODEL } from './courses.query';

// Lists page in course-id order, within one organisation (or the creator's courses) or, for a
// system admin, all of them: each walks an index in that order. A name search (a substring,
// ignoring case) cannot use a b-tree index: it filters the rows the walk meets.
const schema = `
CREATE TABLE IF NOT EXISTS hub_courses (
  course_id text PRIMARY KEY,
  organisation_id text NOT NULL,
  name text NOT NULL,
  created_by text NOT NULL,
  hierarchy_version integer NOT NULL,
  required_content_count integer NOT NULL,
  registered_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS hub_courses_organisation ON hub_courses (organisation_id, course_id);
CREATE INDEX IF NOT EXISTS hub_courses_creator ON hub_courses (created_by, course_id);
`;

const requiredContents = (children: CourseRegistered['data']['children']): number =>
  leavesOf(children).filter((leaf) => !leaf.optional).length;

/** Registered courses without their hierarchies: what GET /v1/courses lists. */
export const coursesProjection = defineProjection<CourseEvent>({
  name: COURSES_READ_MODEL,
  version: 1,
  schema,
  tables: ['hub_courses'],
  streamNamePrefixes: [COURSE_STREAM_PREFIX],
  handlers: {
    CourseRegistered: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO hub_courses (course_id, organisation_id, name, created_by, hierarchy_version,
           required_content_count, registered_at, updated_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)
         ON CONFLICT (course_id) DO NOTHING`,
        [
          data.courseId,
          data.organisationId,
          data.name,
          data.createdBy,
          data.hierarchyVersion,
          requiredContents(data.children),
          data.registeredAt,
          revision.toString(),
        ],
      );
    },
    CourseHierarchyUpdated: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `UPDATE hub_courses SET hierarchy_version = $2, required_content_count = $3,
           updated_at = $4, revision = $5
          WHERE course_id = $1 AND revision < $5`,
        [
          data.courseId,
          data.hierarchyVersion,
          requiredContents(data.children),
          data.updatedAt,
          revision.toString(),
        ],
      );
    },
  },
});
