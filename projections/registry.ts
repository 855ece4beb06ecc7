import { Projection } from './engine/projection';
import { talliesProjection } from './example-tallies/tallies.projection';

/** Every read model the hub maintains. */
export const projections: readonly Projection[] = [talliesProjection];

export const PROJECTIONS = Symbol('PROJECTIONS');
