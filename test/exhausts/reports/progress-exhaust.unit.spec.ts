import { EnrolmentRow } from '../../../projections/enrolments/enrolment-row';
import { csvReadable } from '../../../src/exhausts/reports/csv-writer';
import {
  ProgressExhaustEntry,
  progressExhaustFile,
  progressExhaustLayout,
  progressExhaustRow,
} from '../../../src/exhausts/reports/progress-exhaust';
import { ReportBatch, ReportEnrolment } from '../../../src/exhausts/reports/report-inputs';
import { UserProfileAttributes } from '../../../src/users/user.events';
import { ATTRIBUTES, BATCH, byColumn, collect, enrolment, readAll } from './report-fixtures';

// The enrolments read model's rows are fed to the builder as they are.
const fromReadModel = (row: EnrolmentRow): ReportEnrolment => row;

const FIXED = [
  'Collection Id',
  'Collection Name',
  'Batch Id',
  'Batch Name',
  'User UUID',
  'State',
  'District',
  'Org Name',
  'School Id',
  'School Name',
  'Block Name',
  'Cluster Name',
  'User Type',
  'User Sub Type',
  'Declared Board',
  'Enrolment Date',
  'Completion Date',
  'Certificate Status',
  'Progress',
  'Total Score',
];

const entry = (
  overrides: Partial<ReportEnrolment>,
  attributes: UserProfileAttributes | null = ATTRIBUTES,
): ProgressExhaustEntry => ({ enrolment: enrolment(overrides), attributes, board: null });

describe('progress exhaust', () => {
  const layout = progressExhaustLayout(BATCH.hierarchy);
  const row = (value: ProgressExhaustEntry) =>
    byColumn(layout.header, progressExhaustRow(BATCH, layout, value));

  it('has the fixed columns, then top-level unit progress, then assessment scores', () => {
    expect(layout.header).toEqual([
      ...FIXED,
      // u1a is nested in u1: no column of its own.
      'u1 - Progress',
      'u2 - Progress',
      // a1 sits in u1a, a2 in u2, a3 at the top: hierarchy order.
      'a1 - Score',
      'a2 - Score',
      'a3 - Score',
    ]);
  });

  it('writes a completed learner: 3/5, 1/1, 1/10 is 60%, 100%, 10% and 32% in total', () => {
    const cells = row(
      entry({
        userId: 'user-1',
        progressPercent: 100,
        // 10:30 in India.
        enrolledAt: '2026-01-10T05:00:00.000Z',
        // 19:00 UTC on 1 February is 00:30 on 2 February in India.
        completedOn: '2026-02-01T19:00:00.000Z',
        unitProgress: { u1: 100, u1a: 100, u2: 100 },
        assessments: {
          a1: { score: 3, maxScore: 5 },
          a2: { score: 1, maxScore: 1 },
          a3: { score: 1, maxScore: 10 },
        },
        certificateStatus: 'Issued',
      }),
    );
    expect(cells).toEqual({
      'Collection Id': 'do_course_1',
      'Collection Name': 'Course one',
      'Batch Id': 'BatchId_0130934495109529600',
      'Batch Name': 'Batch one',
      'User UUID': 'user-1',
      State: 'Karnataka',
      District: 'Mysuru',
      'Org Name': 'Org A',
      'School Id': '29220100101',
      'School Name': 'GHS Hunsur',
      'Block Name': 'Hunsur',
      'Cluster Name': 'Cluster 4',
      'User Type': 'administrator',
      'User Sub Type': 'deo',
      'Declared Board': '',
      'Enrolment Date': '10/01/2026',
      'Completion Date': '02/02/2026',
      'Certificate Status': 'Issued',
      Progress: '100',
      // (3 + 1 + 1) * 100 / (5 + 1 + 10) = 31.25, rounded up.
      'Total Score': '32%',
      'u1 - Progress': '100',
      'u2 - Progress': '100',
      'a1 - Score': '60%',
      'a2 - Score': '100%',
      'a3 - Score': '10%',
    });
  });

  it('writes a learner part-way: blanks where there is nothing yet', () => {
    const cells = row(
      entry(
        {
          userId: 'user-2',
          progressPercent: 33,
          // 20:00 UTC is 01:30 the next day in India.
          enrolledAt: '2026-01-10T20:00:00.000Z',
          unitProgress: { u1: 50 },
          assessments: { a1: { score: 2, maxScore: 5 } },
          certificateStatus: 'Failed',
        },
        null,
      ),
    );
    expect(cells).toMatchObject({
      'User UUID': 'user-2',
      // No profile: every attribute blank.
      State: '',
      District: '',
      'Org Name': '',
      'User Type': '',
      'Enrolment Date': '11/01/2026',
      'Completion Date': '',
      'Certificate Status': 'Failed',
      Progress: '33',
      // Only a1 attempted: 2 * 100 / 5.
      'Total Score': '40%',
      'u1 - Progress': '50',
      'u2 - Progress': '',
      'a1 - Score': '40%',
      'a2 - Score': '',
      'a3 - Score': '',
    });
  });

  it('leaves Total Score blank without assessments', () => {
    const cells = row(entry({ userId: 'user-3', unitProgress: { u1: 0, u2: 0 } }));
    expect(cells).toMatchObject({
      'Certificate Status': '',
      Progress: '0',
      'Total Score': '',
      'u1 - Progress': '0',
      'u2 - Progress': '0',
      'a1 - Score': '',
    });
  });

  it('counts only the course’s assessments in Total Score', () => {
    const cells = row(
      entry({
        assessments: { a3: { score: 5, maxScore: 10 }, removed: { score: 0, maxScore: 90 } },
      }),
    );
    expect(cells['Total Score']).toBe('50%');
  });

  it('leaves inactive enrolments out, also when the caller passes them', async () => {
    expect(progressExhaustRow(BATCH, layout, entry({ active: false }))).toBeNull();
    const file = progressExhaustFile(BATCH, [
      entry({ userId: 'user-1' }),
      entry({ userId: 'user-4', active: false }),
      entry({ userId: 'user-5' }),
    ]);
    const rows = await collect(file.rows);
    expect(rows.map((cells) => cells[4])).toEqual(['user-1', 'user-5']);
  });

  it('takes the enrolments read model’s rows as they are', () => {
    const readModelRow: EnrolmentRow = {
      batchId: BATCH.batchId,
      userId: 'user-9',
      courseId: BATCH.courseId,
      enrolledAt: '2026-01-10T05:00:00.000Z',
      active: true,
      status: 1,
      progressPercent: 50,
      completedCount: 1,
      requiredCount: 2,
      completedOn: null,
      unitProgress: { u1: 100 },
      assessments: { a2: { attemptId: 'att-1', score: 1, maxScore: 1, attempts: 1 } },
      totalScore: 1,
      totalMaxScore: 1,
      certificateStatus: null,
      certificateId: null,
      certificateAt: null,
      certificateFailure: null,
      lastAccessTime: null,
      lastContentId: null,
      updatedAt: '2026-01-10T05:00:00.000Z',
      revision: 3n,
    };
    const cells = row({ enrolment: fromReadModel(readModelRow), attributes: null, board: null });
    expect(cells).toMatchObject({ Progress: '50', 'Total Score': '100%', 'a2 - Score': '100%' });
  });
});

/**
 * Seed 001's sample rows (the reference's documentation), rebuilt from inputs. Its header is
 * older than the current reference's: it still had User Name, which the current progress
 * exhaust (like ours) leaves out, as it carries no personal data. Its Batch Id shows the damage
 * the `BatchId_` prefix prevents: the id was read as a number and is lost, so we use one that a
 * spreadsheet shows exactly so. Dates are written dd/MM/yyyy, and Total Score as the current
 * reference's percentage: 7 and 6 points of 10 are 70% and 60%.
 */
describe('progress exhaust: seed 001 sample rows rebuilt', () => {
  const SAMPLE_HEADER =
    'Collection Id,Collection Name,Batch Id,Batch Name,User UUID,User Name,State,District,Enrolment Date,Completion Date,Progress,Certificate Status,Total Score';
  const SAMPLE_ROWS = [
    'do_1130934466492252161819,Test Course,1.3093449510953E+017,Batch1,f703de4e-d47a-4adb-856c-de122e6a0b32,Mathew Pallan,Kerala,Thrissur,2020-08-25 13:45:54:150+0000,2020-08-27 13:45:54:150+0000,100,Issued,7',
    'do_1130934466492252161819,Test Course,1.3093449510953E+017,Batch1,587204af-41db-4313-b3ab-cf022d3055c6,Krishna Jampana,Andhra Pradesh,Vizag,2020-08-25 02:15:58:691+0000,,57,,6',
  ];
  const BATCH_ID = '0130934495109529600';

  const batch: ReportBatch = {
    courseId: 'do_1130934466492252161819',
    courseName: 'Test Course',
    batchId: BATCH_ID,
    batchName: 'Batch1',
    hierarchy: [
      {
        kind: 'unit',
        id: 'do_unit_1',
        name: 'Unit 1',
        children: [
          { kind: 'content', id: 'do_content_1', name: 'Lesson', optional: false },
          { kind: 'assessment', id: 'do_assess_1', name: 'Quiz', optional: false, maxScore: 10 },
        ],
      },
    ],
    requestingOrganisationId: 'org-kerala',
    timeZone: 'Asia/Kolkata',
  };
  const profile = (state: string, district: string) => ({
    ...ATTRIBUTES,
    state,
    district,
  });
  const learners: ProgressExhaustEntry[] = [
    {
      enrolment: enrolment({
        batchId: BATCH_ID,
        userId: 'f703de4e-d47a-4adb-856c-de122e6a0b32',
        enrolledAt: '2020-08-25T13:45:54.150Z',
        completedOn: '2020-08-27T13:45:54.150Z',
        progressPercent: 100,
        unitProgress: { do_unit_1: 100 },
        assessments: { do_assess_1: { score: 7, maxScore: 10 } },
        certificateStatus: 'Issued',
      }),
      attributes: profile('Kerala', 'Thrissur'),
      board: null,
    },
    {
      enrolment: enrolment({
        batchId: BATCH_ID,
        userId: '587204af-41db-4313-b3ab-cf022d3055c6',
        enrolledAt: '2020-08-25T02:15:58.691Z',
        progressPercent: 57,
        unitProgress: { do_unit_1: 57 },
        assessments: { do_assess_1: { score: 6, maxScore: 10 } },
      }),
      attributes: profile('Andhra Pradesh', 'Vizag'),
      board: null,
    },
  ];

  it('uses a batch id that spreadsheets show as the sample’s 1.3093449510953E+017', () => {
    // Excel shows 15 significant digits at most; this one, as General, shows 14.
    expect(Number(BATCH_ID).toPrecision(14)).toBe('1.3093449510953e+17');
  });

  it('gives the sample’s values in the columns both files have', async () => {
    const file = progressExhaustFile(batch, learners);
    const rows = await collect(file.rows);
    const sampleHeader = SAMPLE_HEADER.split(',');
    const shared = ['Collection Id', 'Collection Name', 'Batch Name', 'User UUID', 'State'];
    const alsoShared = ['District', 'Progress', 'Certificate Status'];
    SAMPLE_ROWS.forEach((line, index) => {
      const sample = byColumn(sampleHeader, line.split(','));
      const ours = byColumn(file.header, rows[index] ?? null);
      for (const column of [...shared, ...alsoShared]) expect(ours[column]).toBe(sample[column]);
      expect(ours['Batch Id']).toBe(`BatchId_${BATCH_ID}`);
      // 2020-08-25 13:45 UTC and 02:15 UTC are both 25 August in India.
      expect(ours['Enrolment Date']).toBe('25/08/2020');
    });
  });

  it('writes the two rows as this CSV', async () => {
    const file = progressExhaustFile(batch, learners);
    const text = await readAll(csvReadable(file.header, file.rows));
    // Org Name to User Sub Type, from the profile both learners share here.
    const profileCells = 'Org A,29220100101,GHS Hunsur,Hunsur,Cluster 4,administrator,deo';
    expect(text.split('\r\n')).toEqual([
      `${FIXED.join(',')},do_unit_1 - Progress,do_assess_1 - Score`,
      'do_1130934466492252161819,Test Course,BatchId_0130934495109529600,Batch1,' +
        `f703de4e-d47a-4adb-856c-de122e6a0b32,Kerala,Thrissur,${profileCells}` +
        // Declared Board blank.
        ',,25/08/2020,27/08/2020,Issued,100,70%,100,70%',
      'do_1130934466492252161819,Test Course,BatchId_0130934495109529600,Batch1,' +
        `587204af-41db-4313-b3ab-cf022d3055c6,Andhra Pradesh,Vizag,${profileCells}` +
        ',,25/08/2020,,,57,60%,57,60%',
      '',
    ]);
  });
});
