/** Templates that cost far more to render than their size suggests, and data that feeds them. */

/** Finding 4: three nested `each` over one array, 200³ = 8,000,000 iterations. */
export const NESTED_EACH =
  '{"x": [{{#each PublisherEventData.list}}{{#each ../PublisherEventData.list}}' +
  '{{#each ../../PublisherEventData.list}}{{this}},{{/each}}{{/each}}{{/each}}0]}';
export const NESTED_EACH_DATA = { list: Array.from({ length: 200 }, (_, i) => i) };

/**
 * Not stopped by counting: 10,000 iterations (under the default 20,000), no output at all, but
 * 400 comparisons of two 30,000-character strings (equal but for the last character) in each:
 * seconds of work that only the time budget ends, in 804 expressions (a set holds 1,000). The
 * data fits a 64 KiB event.
 */
export const SLOW_COMPARISONS =
  '{{#each PublisherEventData.rows}}{{#each ../PublisherEventData.rows}}' +
  '{{#if (eq ../../PublisherEventData.x ../../PublisherEventData.y)}}{{/if}}'.repeat(400) +
  '{{/each}}{{/each}}{"done": true}';
export const SLOW_COMPARISONS_DATA = {
  rows: Array.from({ length: 100 }, (_, i) => i),
  x: `${'y'.repeat(29_999)}x`,
  y: `${'y'.repeat(29_999)}y`,
};
