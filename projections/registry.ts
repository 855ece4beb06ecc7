import { apiKeysProjection } from './api-keys/api-keys.projection';
import { batchStatusProjection } from './batch-status/batch-status.projection';
import { Projection } from './engine/projection';
import { talliesProjection } from './example-tallies/tallies.projection';
import { usersProjection } from './users/users.projection';

/** Every read model the hub maintains. */
export const projections: readonly Projection[] = [
  talliesProjection,
  apiKeysProjection,
  usersProjection,
  batchStatusProjection,
];

export const PROJECTIONS = Symbol('PROJECTIONS');
