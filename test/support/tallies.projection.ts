import { defineProjection } from '../../projections/engine/projection';
import { SqlExecutor } from '../../src/database/sql-database';
import { TallyEvent } from './tally.events';

const schema = `
CREATE TABLE IF NOT EXISTS example_tallies (
  tally_id text PRIMARY KEY,
  name text NOT NULL,
  total bigint NOT NULL DEFAULT 0,
  increments integer NOT NULL DEFAULT 0,
  status text NOT NULL,
  opened_at timestamptz NOT NULL,
  closed_at timestamptz,
  -- Stream revision of the last event applied: re-delivered events change nothing.
  revision bigint NOT NULL
);
`;

/** The example domain's read model: tests register it with the engines they run. */
export const talliesProjection = defineProjection<TallyEvent>({
  name: 'example-tallies',
  version: 1,
  schema,
  tables: ['example_tallies'],
  streamNamePrefixes: ['tally-'],
  handlers: {
    TallyOpened: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO example_tallies (tally_id, name, status, opened_at, revision) VALUES ($1, $2, 'open', $3, $4)
         ON CONFLICT (tally_id) DO NOTHING`,
        [data.tallyId, data.name, data.openedAt, revision.toString()],
      );
    },
    TallyIncremented: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `UPDATE example_tallies SET total = total + $2, increments = increments + 1, revision = $3
          WHERE tally_id = $1 AND revision < $3`,
        [data.tallyId, data.by, revision.toString()],
      );
    },
    TallyClosed: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `UPDATE example_tallies SET status = 'closed', closed_at = $2, revision = $3 WHERE tally_id = $1 AND revision < $3`,
        [data.tallyId, data.closedAt, revision.toString()],
      );
    },
  },
});

export interface TallyView {
  tallyId: string;
  name: string;
  total: number;
  increments: number;
  status: 'open' | 'closed';
  revision: number;
}

export const listTallies = async (db: SqlExecutor): Promise<TallyView[]> => {
  const { rows } = await db.query<{
    tally_id: string;
    name: string;
    total: string | number;
    increments: number;
    status: 'open' | 'closed';
    revision: string | number;
  }>(
    'SELECT tally_id, name, total, increments, status, revision FROM example_tallies ORDER BY tally_id',
  );
  return rows.map((row) => ({
    tallyId: row.tally_id,
    name: row.name,
    total: Number(row.total),
    increments: Number(row.increments),
    status: row.status,
    revision: Number(row.revision),
  }));
};
