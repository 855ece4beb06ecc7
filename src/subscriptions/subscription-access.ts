import { Inject, Injectable } from '@nestjs/common';
import { Actor } from '../auth/principal';
import { ConflictError, ForbiddenError } from '../errors/hub-error';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import {
  canConsumeSubscription,
  canReadSubscription,
  subscriptionDecider,
  subscriptionNotFound,
} from './subscription.decider';
import { ActiveSubscription, subscriptionStream } from './subscription.events';

/** Reads a subscription from its own stream (never stale) and applies who may see or consume it. */
@Injectable()
export class SubscriptionAccess {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async current(subscriptionId: string): Promise<ActiveSubscription | null> {
    const { state } = await loadState(
      this.store,
      subscriptionStream(subscriptionId),
      subscriptionDecider,
    );
    return state.exists ? state : null;
  }

  async readable(subscriptionId: string, actor: Actor): Promise<ActiveSubscription> {
    const subscription = await this.current(subscriptionId);
    if (!subscription || !canReadSubscription(actor, subscription))
      throw subscriptionNotFound(subscriptionId);
    return subscription;
  }

  /** For the subscriber's side only: its feed, stream, deliveries and dead letters. */
  async consumable(subscriptionId: string, actor: Actor): Promise<ActiveSubscription> {
    const subscription = await this.readable(subscriptionId, actor);
    if (!canConsumeSubscription(actor, subscription))
      throw new ForbiddenError(
        'SUBSCRIPTION_NOT_YOURS',
        'Only the subscriber’s organisation (subscribers, admins) reads what a subscription delivers',
      );
    return subscription;
  }

  /** Consumable and delivering now: approved by the publisher and not paused. */
  async delivering(subscriptionId: string, actor: Actor): Promise<ActiveSubscription> {
    const subscription = await this.consumable(subscriptionId, actor);
    const refusal = deliveryRefusal(subscription);
    if (refusal) throw refusal;
    return subscription;
  }
}

/** Why nothing flows on a subscription right now, or null when events flow. */
export const deliveryRefusal = (subscription: ActiveSubscription): ConflictError | null => {
  const { subscriptionId, approval } = subscription;
  if (approval !== 'approved')
    return new ConflictError(
      'SUBSCRIPTION_NOT_APPROVED',
      approval === 'pending'
        ? `Subscription ${subscriptionId} waits for an admin of the publisher's program to approve it`
        : `Subscription ${subscriptionId} was rejected by the publisher`,
      { subscriptionId, approval },
    );
  if (!subscription.enabled)
    return new ConflictError('SUBSCRIPTION_PAUSED', `Subscription ${subscriptionId} is paused`, {
      subscriptionId,
    });
  return null;
};
