import { CourseNode } from '../../courses/course.events';
import { CertificateStatus } from '../../enrolments/enrolment.events';
import { UserProfileAttributes } from '../../users/user.events';
import { CsvRow } from './csv-cells';

/**
 * What the report builders are fed, per batch and per learner. The shapes are the hub's read
 * models' own, narrowed to what reports use, so the rows those read models return can be passed
 * as they are (an enrolment read-model row is a ReportEnrolment).
 */

/** The batch a file is made for, and how its cells are written. */
export interface ReportBatch {
  /** The course (the reference's collection) and its title. */
  courseId: string;
  courseName: string;
  batchId: string;
  batchName: string;
  /** The course hierarchy now: units and assessments become columns in its order. */
  hierarchy: readonly CourseNode[];
  /** The organisation asking for the report: personal data needs consent for exactly this one. */
  requestingOrganisationId: string;
  /** IANA zone every date is written in (HUB_TIMEZONE). */
  timeZone: string;
}

/** One enrolment as the enrolments read model holds it (timestamps as ISO 8601 instants). */
export interface ReportEnrolment {
  batchId: string;
  userId: string;
  enrolledAt: string;
  /** False once unenrolled: such enrolments are in no report. */
  active: boolean;
  /** Course progress, an integer percent (rounded down; 100 only when all is done). */
  progressPercent: number;
  /** When the course was completed; null while it is not. */
  completedOn: string | null;
  /** Per unit id, its progress as an integer percent; a unit without an entry is blank. */
  unitProgress: Readonly<Record<string, number>>;
  /** Per assessment content id, the counting attempt's score; absent when never attempted. */
  assessments: Readonly<Record<string, { score: number; maxScore: number }>>;
  /** Issued, Failed or null (blank) as the certificate stands. */
  certificateStatus: CertificateStatus;
}

/** The fields that identify a person, opened from the users' vault; null where none given. */
export interface ReportPersonalData {
  name: string | null;
  email: string | null;
  phone: string | null;
  externalId: string | null;
}

/** A learner's personal data as the caller found it. */
export type PersonalDataInput =
  /** Opened from the vault (fields still null where the learner gave none). */
  | { state: 'recorded'; data: ReportPersonalData }
  /** The profile holds no personal data. */
  | { state: 'none' }
  /** Erased (the user's key destroyed): blank in every report, whatever else says otherwise. */
  | { state: 'erased' };

/**
 * The learner's latest consent decision for this course and one consumer organisation
 * (from the consents read model); null when the learner never decided.
 */
export interface ReportConsent {
  consumerOrganisationId: string;
  active: boolean;
  /** When the decision was made: granted at, or revoked at. */
  decidedAt: string;
}

/** One learner's enrolment with what their profile shows in clear. */
export interface ReportLearner {
  enrolment: ReportEnrolment;
  /** The profile's clear attributes; null when the hub has no profile (those cells blank). */
  attributes: UserProfileAttributes | null;
}

/** A learner together with what personal-data reports need. */
export interface ReportLearnerWithPersonalData extends ReportLearner {
  personal: PersonalDataInput;
  consent: ReportConsent | null;
}

/** Consent that lets the requesting organisation see the learner's personal data. */
export const consentsTo = (
  consent: ReportConsent | null,
  batch: ReportBatch,
): consent is ReportConsent =>
  consent !== null &&
  consent.active &&
  consent.consumerOrganisationId === batch.requestingOrganisationId;

const BLANK: ReportPersonalData = { name: null, email: null, phone: null, externalId: null };

/** Personal data as a report may show it: blank without consent, and blank once erased. */
export const shownPersonalData = (
  learner: ReportLearnerWithPersonalData,
  batch: ReportBatch,
): ReportPersonalData => {
  if (!consentsTo(learner.consent, batch)) return BLANK;
  switch (learner.personal.state) {
    case 'recorded':
      return learner.personal.data;
    case 'none':
    case 'erased':
      return BLANK;
    default: {
      const unknown: never = learner.personal;
      throw new Error(`Unknown personal data state ${JSON.stringify(unknown)}`);
    }
  }
};

/** A report file's content: its header and its rows, produced as the writer pulls them. */
export interface ReportFile {
  header: CsvRow;
  rows: AsyncIterable<CsvRow>;
}

/**
 * Builds a report's rows lazily from a stream of entries, leaving out those `build` skips (null):
 * the CSV writer pulls one row at a time, so the batch is never held in memory.
 */
export async function* reportRows<Entry>(
  entries: AsyncIterable<Entry> | Iterable<Entry>,
  build: (entry: Entry) => CsvRow | null,
): AsyncGenerator<CsvRow> {
  for await (const entry of entries) {
    const row = build(entry);
    if (row !== null) yield row;
  }
}
