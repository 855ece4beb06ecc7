import { apiKeysProjection } from './api-keys/api-keys.projection';
import { assessmentResponsesProjection } from './assessment-responses/assessment-responses.projection';
import { batchStatusProjection } from './batch-status/batch-status.projection';
import { consentsProjection } from './consents/consents.projection';
import { coursesProjection } from './courses/courses.projection';
import { Projection } from './engine/projection';
import { enrolmentsProjection } from './enrolments/enrolments.projection';
import { groupActivityProjection } from './group-activity/group-activity.projection';
import { jobRequestsProjection } from './job-requests/job-requests.projection';
import { lmsMirrorProjection } from './lms-mirror/lms-mirror.projection';
import { learningEventsProjection } from './learning-events/learning-events.projection';
import { programsProjection } from './programs/programs.projection';
import { subscriptionsProjection } from './subscriptions/subscriptions.projection';
import { usersProjection } from './users/users.projection';

/** Every read model the hub maintains. */
export const projections: readonly Projection[] = [
  apiKeysProjection,
  usersProjection,
  coursesProjection,
  batchStatusProjection,
  consentsProjection,
  enrolmentsProjection,
  programsProjection,
  learningEventsProjection,
  subscriptionsProjection,
  jobRequestsProjection,
  assessmentResponsesProjection,
  groupActivityProjection,
  lmsMirrorProjection,
];
