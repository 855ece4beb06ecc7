import { RuleViolatedError } from '../../src/errors/hub-error';
import { deciderSpecification } from '../support/decider-specification';
import { tallyDecider } from '../support/tally.decider';

const spec = deciderSpecification(tallyDecider);
const now = '2026-11-22T10:00:00.000Z';
const opened = {
  type: 'TallyOpened' as const,
  data: { tallyId: 't1', name: 'Visits', openedAt: now },
};

describe('decider specification on the example tally', () => {
  it('opens a tally once', () => {
    spec.given([]).when({ type: 'OpenTally', tallyId: 't1', name: 'Visits', now }).then([opened]);
    spec
      .given([opened])
      .when({ type: 'OpenTally', tallyId: 't1', name: 'Visits', now })
      .thenNothingHappens();
  });

  it('increments an open tally with the time the command carries', () => {
    spec
      .given([opened])
      .when({ type: 'IncrementTally', tallyId: 't1', by: 3, now: '2026-11-22T11:00:00.000Z' })
      .then([
        {
          type: 'TallyIncremented',
          data: { tallyId: 't1', by: 3, at: '2026-11-22T11:00:00.000Z' },
        },
      ]);
  });

  it('refuses to increment a tally that is not open', () => {
    spec
      .given([])
      .when({ type: 'IncrementTally', tallyId: 't1', by: 1, now })
      .thenThrows(RuleViolatedError, { code: 'COURSE_BATCH_ALREADY_COMPLETED' });
    spec
      .given([opened, { type: 'TallyClosed', data: { tallyId: 't1', closedAt: now } }])
      .when({ type: 'IncrementTally', tallyId: 't1', by: 1, now })
      .thenThrows(RuleViolatedError, { code: 'COURSE_BATCH_ALREADY_COMPLETED' });
  });

  it('reports a wrong expectation as a failure', () => {
    expect(() =>
      spec
        .given([])
        .when({ type: 'OpenTally', tallyId: 't1', name: 'Visits', now })
        .thenNothingHappens(),
    ).toThrow();
  });
});
