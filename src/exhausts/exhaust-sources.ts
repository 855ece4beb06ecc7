import { Inject, Injectable } from '@nestjs/common';
import { attemptsOfBatch } from '../../projections/assessment-responses/assessment-responses.query';
import { activeConsents } from '../../projections/consents/consents.query';
import { listParticipants } from '../../projections/enrolments/enrolments.query';
import { readUserProfiles, UserProfileRow } from '../../projections/users/users.query';
import { batchDecider } from '../batches/batch.decider';
import { batchStream } from '../batches/batch.events';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { courseDecider } from '../courses/course.decider';
import { courseStream } from '../courses/course.events';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { UserProfiles } from '../users/users.lookups';
import { ResponseExhaustAttempt } from './reports/response-exhaust';
import {
  PersonalDataInput,
  ReportBatch,
  ReportLearnerWithPersonalData,
} from './reports/report-inputs';

/** Learners read per round trip: a page of enrolments, their profiles and consents. */
const PAGE = 2_000;

/** Who may ask for a batch's reports: its creator, its mentors, admins of its organisation. */
export interface BatchOwnership {
  organisationId: string;
  createdBy: string;
  mentors: readonly string[];
}

export interface ExhaustBatch {
  report: ReportBatch;
  ownership: BatchOwnership;
  /** Whether the course asks its learners for consent to share personal data. */
  userConsent: boolean;
}

/**
 * What reports are made of, read from the read models page by page (never a whole batch in
 * memory): a batch with its course, and its active learners with profile, consent and (where
 * a report shows it) personal data.
 */
@Injectable()
export class ExhaustSources {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly profiles: UserProfiles,
  ) {}

  /** The batch and its course as a report needs them; null when either is unknown. */
  async batch(batchId: string, requestingOrganisationId: string): Promise<ExhaustBatch | null> {
    const { state: batch } = await loadState(this.store, batchStream(batchId), batchDecider);
    if (!batch.exists) return null;
    const { state: course } = await loadState(
      this.store,
      courseStream(batch.courseId),
      courseDecider,
    );
    if (!course.exists) return null;
    return {
      report: {
        courseId: course.courseId,
        courseName: course.name,
        batchId,
        batchName: batch.name,
        hierarchy: course.children,
        requestingOrganisationId,
        timeZone: this.config.timeZone,
      },
      ownership: {
        organisationId: batch.organisationId,
        createdBy: batch.createdBy,
        mentors: batch.mentors,
      },
      userConsent: course.userConsent,
    };
  }

  /** The batch's active learners in user-id order; personal data opened only when asked. */
  async *learners(
    batch: ReportBatch,
    options: { personalData: boolean; signal: AbortSignal },
  ): AsyncGenerator<ReportLearnerWithPersonalData> {
    let after: string | undefined;
    for (;;) {
      if (options.signal.aborted) return;
      const page = await listParticipants(this.db, batch.batchId, {
        active: true,
        limit: PAGE,
        ...(after === undefined ? {} : { after }),
      });
      if (page.length === 0) return;
      const userIds = page.map((enrolment) => enrolment.userId);
      const [profiles, consents] = await Promise.all([
        readUserProfiles(this.db, userIds),
        activeConsents(this.db, batch.courseId, batch.requestingOrganisationId, userIds),
      ]);
      const personal = options.personalData
        ? await this.personalDataOf(profiles, consents)
        : new Map<string, PersonalDataInput>();
      for (const enrolment of page) {
        const profile = profiles.get(enrolment.userId) ?? null;
        const grantedAt = consents.get(enrolment.userId);
        const consent =
          grantedAt === undefined
            ? null
            : {
                consumerOrganisationId: batch.requestingOrganisationId,
                active: true,
                decidedAt: grantedAt.toISOString(),
              };
        yield {
          enrolment,
          attributes: profile?.attributes ?? null,
          consent,
          personal: personal.get(enrolment.userId) ?? { state: 'none' },
        };
      }
      after = page[page.length - 1]?.userId;
      if (page.length < PAGE) return;
    }
  }

  /** The batch's assessment attempts, question by question, in user order. */
  attempts(batch: ReportBatch): AsyncGenerator<ResponseExhaustAttempt> {
    return attemptsOfBatch(this.db, batch.batchId);
  }

  /** Personal data of the consenting learners of a page, opened with one read of their keys. */
  private async personalDataOf(
    profiles: ReadonlyMap<string, UserProfileRow>,
    consents: ReadonlyMap<string, Date>,
  ): Promise<Map<string, PersonalDataInput>> {
    const shown = [...profiles.values()].filter((profile) => consents.has(profile.userId));
    const recorded = shown.filter((profile) => profile.personalErasedAt === null);
    const opened = await this.profiles.personalDataOf(recorded);
    const personal = new Map<string, PersonalDataInput>();
    for (const profile of shown) {
      const data = opened.get(profile.userId);
      personal.set(
        profile.userId,
        profile.personalErasedAt !== null || data === undefined
          ? { state: 'erased' }
          : { state: 'recorded', data },
      );
    }
    return personal;
  }
}
