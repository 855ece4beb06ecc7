import { csvReadable } from '../../../src/exhausts/reports/csv-writer';
import { QuestionResponse } from '../../../src/enrolments/enrolment.events';
import {
  RESPONSE_EXHAUST_COLUMNS,
  ResponseExhaustAttempt,
  questionSetTitles,
  referenceJson,
  responseExhaustFile,
  responseExhaustRows,
} from '../../../src/exhausts/reports/response-exhaust';
import { BATCH, byColumn, collect, readAll } from './report-fixtures';

const mcq: QuestionResponse = {
  questionId: 'q1',
  type: 'mcq',
  title: 'Capital of Karnataka?',
  options: [
    { label: '<p>Bengaluru</p>', value: 0 },
    { label: '<p>Mysuru</p>', value: 1 },
  ],
  response: [{ value: 0 }],
  score: 1,
  maxScore: 1,
  duration: 12.4,
  answeredAt: '2026-02-01T18:29:00.000Z',
};

const mtf: QuestionResponse = {
  questionId: 'q2',
  type: 'mtf',
  title: 'Match the "rivers"',
  options: [
    { left: 'Kaveri', right: 'South' },
    { left: 'Tunga', right: 'West' },
  ],
  response: { matches: [[0, 0]], note: 'line one\nline two \\ done' },
  score: 0.33,
  maxScore: null,
  duration: 30.5,
  answeredAt: null,
};

const attempt = (overrides: Partial<ResponseExhaustAttempt> = {}): ResponseExhaustAttempt => ({
  userId: 'user-1',
  enrolmentActive: true,
  contentId: 'a1',
  attemptId: 'attempt-1',
  // 18:30 UTC is midnight in India.
  submittedAt: '2026-02-01T18:30:05.000Z',
  responses: [mcq, mtf],
  ...overrides,
});

describe('response exhaust', () => {
  const titles = questionSetTitles(BATCH.hierarchy);

  it('has the reference’s columns', () => {
    expect(RESPONSE_EXHAUST_COLUMNS).toEqual([
      'Collection Id',
      'Collection Name',
      'Batch Id',
      'Batch Name',
      'User UUID',
      'QuestionSet Id',
      'QuestionSet Title',
      'Attempt Id',
      'Attempted On',
      'Question Id',
      'Question Type',
      'Question Title',
      'Question Description',
      'Question Duration',
      'Question Score',
      'Question Max Score',
      'Question Options',
      'Question Response',
    ]);
  });

  it('writes one row per question of the attempt', () => {
    const rows = responseExhaustRows(BATCH, titles, attempt());
    expect(rows.map((row) => byColumn(RESPONSE_EXHAUST_COLUMNS, row))).toEqual([
      {
        'Collection Id': 'do_course_1',
        'Collection Name': 'Course one',
        'Batch Id': 'BatchId_0130934495109529600',
        'Batch Name': 'Batch one',
        'User UUID': 'user-1',
        'QuestionSet Id': 'a1',
        'QuestionSet Title': 'Quiz one',
        'Attempt Id': 'attempt-1',
        'Attempted On': '2026-02-02 00:00:05',
        'Question Id': 'q1',
        'Question Type': 'mcq',
        'Question Title': 'Capital of Karnataka?',
        'Question Description': '',
        'Question Duration': '12',
        'Question Score': '1',
        'Question Max Score': '1',
        'Question Options':
          "[{'label':'<p>Bengaluru</p>','value':0},{'label':'<p>Mysuru</p>','value':1}]",
        'Question Response': "[{'value':0}]",
      },
      {
        'Collection Id': 'do_course_1',
        'Collection Name': 'Course one',
        'Batch Id': 'BatchId_0130934495109529600',
        'Batch Name': 'Batch one',
        'User UUID': 'user-1',
        'QuestionSet Id': 'a1',
        'QuestionSet Title': 'Quiz one',
        'Attempt Id': 'attempt-1',
        'Attempted On': '2026-02-02 00:00:05',
        'Question Id': 'q2',
        'Question Type': 'mtf',
        'Question Title': 'Match the "rivers"',
        'Question Description': '',
        // Rounded to whole seconds, half up.
        'Question Duration': '31',
        'Question Score': '0.33',
        'Question Max Score': '',
        'Question Options': "[{'left':'Kaveri','right':'South'},{'left':'Tunga','right':'West'}]",
        // The line break becomes a space and the backslash goes, as the reference does.
        'Question Response': "{'matches':[[0,0]],'note':'line one line two  done'}",
      },
    ]);
  });

  it('turns options and responses into the reference’s single-quoted JSON', () => {
    expect(referenceJson({ say: 'he said "yes"' })).toBe("{'say':'he said 'yes''}");
    expect(referenceJson(['tab\there'])).toBe("['tab here']");
    expect(referenceJson(3)).toBe('3');
    expect(referenceJson(null)).toBe('');
    expect(referenceJson(undefined)).toBe('');
  });

  it('leaves the title blank for an assessment no longer in the course', () => {
    const [row] = responseExhaustRows(BATCH, titles, attempt({ contentId: 'gone' }));
    expect(byColumn(RESPONSE_EXHAUST_COLUMNS, row ?? null)['QuestionSet Title']).toBe('');
  });

  it('streams several attempts and leaves out inactive enrolments', async () => {
    const file = responseExhaustFile(BATCH, [
      attempt(),
      attempt({ userId: 'user-2', enrolmentActive: false }),
      attempt({ userId: 'user-3', contentId: 'a3', attemptId: 'attempt-9', responses: [mcq] }),
    ]);
    const rows = await collect(file.rows);
    expect(rows.map((row) => [row[4], row[5], row[7], row[9]])).toEqual([
      ['user-1', 'a1', 'attempt-1', 'q1'],
      ['user-1', 'a1', 'attempt-1', 'q2'],
      ['user-3', 'a3', 'attempt-9', 'q1'],
    ]);
  });

  it('writes CSV a spreadsheet reads back cell for cell', async () => {
    const file = responseExhaustFile(BATCH, [attempt({ responses: [mtf] })]);
    const lines = (await readAll(csvReadable(file.header, file.rows))).split('\r\n');
    expect(lines[1]).toBe(
      'do_course_1,Course one,BatchId_0130934495109529600,Batch one,user-1,a1,Quiz one,attempt-1,' +
        '2026-02-02 00:00:05,q2,mtf,"Match the ""rivers""",,31,0.33,,' +
        `"[{'left':'Kaveri','right':'South'},{'left':'Tunga','right':'West'}]",` +
        `"{'matches':[[0,0]],'note':'line one line two  done'}"`,
    );
  });
});
