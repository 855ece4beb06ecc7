import { organisationsOfUsers } from '../../projections/users/users.query';
import { Inject, Injectable } from '@nestjs/common';
import { batchDecider, BatchState } from '../batches/batch.decider';
import { BatchEvent, batchStream } from '../batches/batch.events';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { courseDecider, courseNotFound, CourseState } from '../courses/course.decider';
import { CourseEvent, courseStream } from '../courses/course.events';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { loadState } from '../event-sourcing/command-handler';
import { RecentStates } from '../event-sourcing/recent-states';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { userDecider } from '../users/user.decider';
import { userStream } from '../users/user.events';
import { CourseTracking, courseTracking } from './course-tracking';
import { BatchFacts, Recipient } from './enrolment.decider';

const BATCHES_KEPT = 10_000;
const COURSES_KEPT = 1_000;
/**
 * How stale a batch or course may be when a command looks it up. A change (a new end date, a
 * new hierarchy) reaches commands within this; every decision is still appended against the
 * enrolment's own revision.
 */
const LOOKUP_FRESHNESS_MS = 250;

/**
 * What enrolment commands look up before deciding. Batches and courses are read from their own
 * streams (only the events since the last look, thanks to the cache), so a rule never runs on a
 * read model that lags; learners come from the users read model, in one query for a whole list.
 */
@Injectable()
export class EnrolmentLookups {
  // Progress arrives thousands of times a second for one batch and course.
  private readonly batches: RecentStates<BatchEvent, BatchState>;
  private readonly courses: RecentStates<CourseEvent, CourseState>;
  private readonly tracking = new Map<string, CourseTracking>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
  ) {
    this.batches = new RecentStates(store, batchDecider, BATCHES_KEPT, LOOKUP_FRESHNESS_MS);
    this.courses = new RecentStates(store, courseDecider, COURSES_KEPT, LOOKUP_FRESHNESS_MS);
  }

  get scorePolicy(): HubConfig['scorePolicy'] {
    return this.config.scorePolicy;
  }

  async batch(batchId: string): Promise<BatchFacts | null> {
    const batch = await this.batches.get(batchStream(batchId));
    if (!batch.exists) return null;
    return {
      batchId: batch.batchId,
      courseId: batch.courseId,
      organisationId: batch.organisationId,
      createdFor: batch.createdFor,
      createdBy: batch.createdBy,
      mentors: batch.mentors,
      invitees: batch.invitees,
      enrollmentType: batch.enrollmentType,
      startsAt: batch.start.at,
      endsAt: batch.end?.at ?? null,
      enrollmentEndsAt: batch.enrollmentEnd?.at ?? null,
      certificateCriteria: batch.certificateCriteria,
    };
  }

  /** The course's leaves and units, flattened once per hierarchy version. */
  async course(courseId: string): Promise<CourseTracking> {
    const course = await this.courses.get(courseStream(courseId));
    if (!course.exists) throw courseNotFound(courseId);
    const known = this.tracking.get(courseId);
    if (known?.hierarchyVersion === course.hierarchyVersion) return known;
    const fresh = courseTracking(courseId, course.hierarchyVersion, course.children);
    if (this.tracking.size >= COURSES_KEPT) this.tracking.clear();
    this.tracking.set(courseId, fresh);
    return fresh;
  }

  /** The organisation of each user the hub has a profile for; absent ones are unknown. */
  async learners(userIds: readonly string[]): Promise<Map<string, { organisationId: string }>> {
    return organisationsOfUsers(this.db, userIds);
  }

  /** Whether a certificate can name the learner: read from the user's stream, never stale. */
  async recipient(userId: string): Promise<Recipient> {
    const { state } = await loadState(this.store, userStream(userId), userDecider);
    if (state.exists && state.personalDigest !== null) return 'known';
    return state.exists && state.erasedAt !== null ? 'erased' : 'unknown';
  }
}
