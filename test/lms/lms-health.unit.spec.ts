import { LmsCallError } from '../../src/lms/lms-backend';
import { LmsHealth } from '../../src/lms/lms-health';

const MINUTE = 60_000;
const unavailable = new LmsCallError('503 Service Unavailable', true, 503);
const refused = new LmsCallError('400 No course', false, 400);

describe('LMS health', () => {
  it('knows nothing before a call, and counts only the last five minutes', () => {
    const health = new LmsHealth();
    expect(health.view('openedx-0', 0).status).toBe('unknown');
    health.failed('openedx-0', 0, unavailable);
    health.succeeded('openedx-0', 1 * MINUTE);
    health.succeeded('openedx-0', 6 * MINUTE);
    expect(health.view('openedx-0', 6 * MINUTE)).toMatchObject({
      status: 'up',
      callsLastFiveMinutes: 1,
      failuresLastFiveMinutes: 0,
      lastFailureAt: new Date(0).toISOString(),
      lastError: { status: 503, message: '503 Service Unavailable' },
    });
    expect(health.view('openedx-0', 12 * MINUTE).status).toBe('unknown');
  });

  it('is down after five unanswered calls in a row, degraded after fewer', () => {
    const health = new LmsHealth();
    health.succeeded('moodle-0', 0);
    for (let n = 1; n <= 4; n++) health.failed('moodle-0', n, unavailable);
    expect(health.view('moodle-0', 5).status).toBe('degraded');
    health.failed('moodle-0', 5, unavailable);
    expect(health.view('moodle-0', 6)).toMatchObject({
      status: 'down',
      callsLastFiveMinutes: 6,
      failuresLastFiveMinutes: 5,
    });
  });

  it('counts a refusal as an answer: the LMS is up, and its error is kept', () => {
    const health = new LmsHealth();
    health.failed('openedx-0', 0, refused);
    expect(health.view('openedx-0', 1)).toMatchObject({
      status: 'up',
      failuresLastFiveMinutes: 0,
      lastError: { status: 400 },
    });
  });
});
