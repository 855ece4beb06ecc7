import { Actor } from '../auth/principal';
import { EventMetadata } from '../event-store/event-store.port';

/** Who caused an event and in which request: the audit trail every history view shows. */
export const actorMetadata = (actor: Actor, requestId?: string): EventMetadata => ({
  principal: actor.userId,
  tenant: actor.organisationId,
  ...(requestId === undefined ? {} : { correlationId: requestId }),
});
