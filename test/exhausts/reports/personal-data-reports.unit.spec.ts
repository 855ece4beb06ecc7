import {
  COURSE_PROGRESS_REPORT_COLUMNS,
  courseProgressReportFile,
  courseProgressReportRow,
} from '../../../src/exhausts/reports/course-progress-report';
import { csvReadable } from '../../../src/exhausts/reports/csv-writer';
import {
  ReportConsent,
  ReportLearnerWithPersonalData,
  ReportPersonalData,
} from '../../../src/exhausts/reports/report-inputs';
import {
  USERINFO_EXHAUST_COLUMNS,
  userinfoExhaustFile,
  userinfoExhaustRow,
} from '../../../src/exhausts/reports/userinfo-exhaust';
import { PersonalData } from '../../../src/users/personal-data-vault';
import {
  ATTRIBUTES,
  BATCH,
  byColumn,
  collect,
  consent,
  enrolment,
  readAll,
} from './report-fixtures';

// What the users' vault opens is what the builders take.
const fromVault = (data: PersonalData): ReportPersonalData => data;

const ASHA = fromVault({
  name: 'Asha Rao',
  email: 'asha@example.org',
  phone: '9876543210',
  externalId: 'KA-T-0001',
});

const learner = (
  userId: string,
  consentGiven: ReportConsent | null,
  personal: ReportLearnerWithPersonalData['personal'] = { state: 'recorded', data: ASHA },
): ReportLearnerWithPersonalData => ({
  enrolment: enrolment({
    userId,
    progressPercent: 75,
    enrolledAt: '2026-01-10T05:00:00.000Z',
    completedOn: '2026-03-01T18:45:00.000Z',
  }),
  attributes: ATTRIBUTES,
  personal,
  consent: consentGiven,
});

/** Each way of not showing personal data, beside one learner who shows it. */
const LEARNERS = {
  consented: learner('user-1', consent()),
  otherOrganisation: learner('user-2', consent({ consumerOrganisationId: 'org-b' })),
  revoked: learner('user-3', consent({ active: false })),
  neverAsked: learner('user-4', null),
  erased: learner('user-5', consent(), { state: 'erased' }),
  noPersonalData: learner('user-6', consent(), { state: 'none' }),
};

describe('course progress report', () => {
  const row = (value: ReportLearnerWithPersonalData) =>
    byColumn(COURSE_PROGRESS_REPORT_COLUMNS, courseProgressReportRow(BATCH, value));

  it('has exactly seed 002’s columns', () => {
    expect(COURSE_PROGRESS_REPORT_COLUMNS).toEqual([
      'External ID',
      'User ID',
      'User Name',
      'Email ID',
      'Mobile Number',
      'Organization Name',
      'District Name',
      'School Name',
      'Block Name',
      'Enrollment Date',
      'Course Progress',
      'Completion Date',
    ]);
  });

  it('shows personal fields with active consent for the requesting organisation', () => {
    expect(row(LEARNERS.consented)).toEqual({
      'External ID': 'KA-T-0001',
      'User ID': 'user-1',
      'User Name': 'Asha Rao',
      'Email ID': 'asha@example.org',
      'Mobile Number': '9876543210',
      'Organization Name': 'Org A',
      'District Name': 'Mysuru',
      'School Name': 'GHS Hunsur',
      'Block Name': 'Hunsur',
      'Enrollment Date': '10/01/2026',
      'Course Progress': '75',
      // 18:45 UTC on 1 March is 00:15 on 2 March in India.
      'Completion Date': '02/03/2026',
    });
  });

  it.each([
    ['consent for another organisation', LEARNERS.otherOrganisation],
    ['revoked consent', LEARNERS.revoked],
    ['no consent decision', LEARNERS.neverAsked],
    ['erased personal data', LEARNERS.erased],
    ['no personal data', LEARNERS.noPersonalData],
  ])('blanks personal fields but keeps the row and User ID with %s', (_case, value) => {
    expect(row(value)).toEqual({
      'External ID': '',
      'User ID': value.enrolment.userId,
      'User Name': '',
      'Email ID': '',
      'Mobile Number': '',
      'Organization Name': 'Org A',
      'District Name': 'Mysuru',
      'School Name': 'GHS Hunsur',
      'Block Name': 'Hunsur',
      'Enrollment Date': '10/01/2026',
      'Course Progress': '75',
      'Completion Date': '02/03/2026',
    });
  });

  it('leaves inactive enrolments out', async () => {
    const inactive = { ...LEARNERS.consented, enrolment: enrolment({ active: false }) };
    expect(courseProgressReportRow(BATCH, inactive)).toBeNull();
    const rows = await collect(courseProgressReportFile(BATCH, [inactive, LEARNERS.revoked]).rows);
    expect(rows.map((cells) => cells[1])).toEqual(['user-3']);
  });

  it('quotes and neutralises what learners typed', async () => {
    const typed = learner('user-7', consent(), {
      state: 'recorded',
      data: {
        name: 'Rao, "Asha"',
        email: '=HYPERLINK("x")',
        phone: '+919876543210',
        externalId: null,
      },
    });
    const file = courseProgressReportFile(BATCH, [typed]);
    const text = await readAll(csvReadable(file.header, file.rows));
    expect(text.split('\r\n')[1]).toBe(
      `,user-7,"Rao, ""Asha""","'=HYPERLINK(""x"")",'+919876543210,Org A,Mysuru,GHS Hunsur,Hunsur,10/01/2026,75,02/03/2026`,
    );
  });
});

describe('userinfo exhaust', () => {
  const row = (value: ReportLearnerWithPersonalData) =>
    byColumn(USERINFO_EXHAUST_COLUMNS, userinfoExhaustRow(BATCH, value));

  it('has the reference’s columns, ending in the contact and consent ones', () => {
    expect(USERINFO_EXHAUST_COLUMNS).toEqual([
      'Collection Id',
      'Collection Name',
      'Batch Id',
      'Batch Name',
      'User UUID',
      'User Name',
      'User Type',
      'User Sub Type',
      'State',
      'District',
      'Block',
      'Cluster',
      'School Id',
      'School Name',
      'Org Name',
      'Email ID',
      'Mobile Number',
      'Consent Provided',
      'Consent Provided Date',
    ]);
  });

  it('writes a consented learner', () => {
    expect(row(LEARNERS.consented)).toEqual({
      'Collection Id': 'do_course_1',
      'Collection Name': 'Course one',
      'Batch Id': 'BatchId_0130934495109529600',
      'Batch Name': 'Batch one',
      'User UUID': 'user-1',
      'User Name': 'Asha Rao',
      'User Type': 'administrator',
      'User Sub Type': 'deo',
      State: 'Karnataka',
      District: 'Mysuru',
      Block: 'Hunsur',
      Cluster: 'Cluster 4',
      'School Id': '29220100101',
      'School Name': 'GHS Hunsur',
      'Org Name': 'Org A',
      'Email ID': 'asha@example.org',
      'Mobile Number': '9876543210',
      'Consent Provided': 'true',
      // Granted 20:00 UTC on 9 January: 01:30 on 10 January in India.
      'Consent Provided Date': '10/01/2026',
    });
  });

  it('keeps an erased learner who consented, with blank personal fields', () => {
    expect(row(LEARNERS.erased)).toMatchObject({
      'User UUID': 'user-5',
      'User Name': '',
      'Email ID': '',
      'Mobile Number': '',
      State: 'Karnataka',
      'Consent Provided': 'true',
    });
  });

  it('has only learners with active consent for the requesting organisation', async () => {
    const everyone = Object.values(LEARNERS);
    const inactive = { ...LEARNERS.consented, enrolment: enrolment({ active: false }) };
    const rows = await collect(userinfoExhaustFile(BATCH, [...everyone, inactive]).rows);
    expect(rows.map((cells) => cells[4])).toEqual(['user-1', 'user-5', 'user-6']);
    expect(userinfoExhaustRow(BATCH, LEARNERS.revoked)).toBeNull();
    expect(userinfoExhaustRow(BATCH, LEARNERS.otherOrganisation)).toBeNull();
    expect(userinfoExhaustRow(BATCH, LEARNERS.neverAsked)).toBeNull();
  });
});
