import { PROGRAM_STREAM_PREFIX, ProgramEvent } from '../../src/programs/program.events';
import { defineProjection } from '../engine/projection';
import { PROGRAMS_READ_MODEL } from './programs.query';

const schema = `
CREATE TABLE IF NOT EXISTS hub_programs (
  program_id text PRIMARY KEY,
  organisation_id text NOT NULL,
  name text NOT NULL,
  description text,
  registered_by text NOT NULL,
  registered_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS hub_programs_organisation ON hub_programs (organisation_id, program_id);
`;

export const programsProjection = defineProjection<ProgramEvent>({
  name: PROGRAMS_READ_MODEL,
  version: 1,
  schema,
  tables: ['hub_programs'],
  streamNamePrefixes: [PROGRAM_STREAM_PREFIX],
  handlers: {
    ProgramRegistered: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `INSERT INTO hub_programs (program_id, organisation_id, name, description, registered_by,
           registered_at, updated_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
         ON CONFLICT (program_id) DO NOTHING`,
        [
          data.programId,
          data.organisationId,
          data.name,
          data.description,
          data.registeredBy,
          data.registeredAt,
          revision.toString(),
        ],
      );
    },
    ProgramUpdated: async (event, tx) => {
      const { data, revision } = event;
      await tx.query(
        `UPDATE hub_programs SET name = $2, description = $3, updated_at = $4, revision = $5
          WHERE program_id = $1 AND revision < $5`,
        [data.programId, data.name, data.description, data.updatedAt, revision.toString()],
      );
    },
  },
});
