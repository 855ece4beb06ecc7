import { Actor, hasRole, isSystemAdmin } from '../../src/auth/principal';
import { SqlExecutor } from '../../src/database/sql-database';
import { ActiveSubscription } from '../../src/subscriptions/subscription.events';
import { SUBSCRIPTION_SELECT, SubscriptionDbRow, toSubscriptionState } from './subscription-row';

export const SUBSCRIPTIONS_READ_MODEL = 'subscriptions';

export interface SubscriptionFilter {
  approval?: ActiveSubscription['approval'];
  subscriberProgramId?: string;
  publisherProgramId?: string;
  after?: string;
  limit: number;
}

export interface ListedSubscription extends ActiveSubscription {
  revision: bigint;
}

/**
 * Subscriptions the actor may see, in id order: all for a system admin; else those of its
 * organisation as subscriber, and, for an organisation admin, those asking for its programs.
 * The SQL form of `canReadSubscription`; what of each the actor sees is `subscriptionDisclosure`.
 */
export const listSubscriptions = async (
  db: SqlExecutor,
  actor: Actor,
  filter: SubscriptionFilter,
): Promise<ListedSubscription[]> => {
  const { rows } = await db.query<SubscriptionDbRow>(
    `SELECT ${SUBSCRIPTION_SELECT} FROM hub_subscriptions
      WHERE NOT deleted
        AND ($1 OR subscriber_organisation_id = $2 OR ($3 AND publisher_organisation_id = $2))
        AND ($4::text IS NULL OR approval = $4)
        AND ($5::text IS NULL OR subscriber_program_id = $5)
        AND ($6::text IS NULL OR publisher_program_id = $6)
        AND ($7::text IS NULL OR subscription_id > $7)
      ORDER BY subscription_id LIMIT $8`,
    [
      isSystemAdmin(actor),
      actor.organisationId,
      hasRole(actor, 'ORG_ADMIN'),
      filter.approval ?? null,
      filter.subscriberProgramId ?? null,
      filter.publisherProgramId ?? null,
      filter.after ?? null,
      filter.limit,
    ],
  );
  return rows.map((row) => ({ ...toSubscriptionState(row), revision: BigInt(row.revision) }));
};

/** Subscriptions with a webhook whose events flow (approved, not paused), with their revision. */
export const deliveringWebhookSubscriptions = async (
  db: SqlExecutor,
): Promise<ListedSubscription[]> => {
  const { rows } = await db.query<SubscriptionDbRow>(
    `SELECT ${SUBSCRIPTION_SELECT} FROM hub_subscriptions
      WHERE NOT deleted AND approval = 'approved' AND enabled AND webhook IS NOT NULL`,
  );
  return rows.map((row) => ({ ...toSubscriptionState(row), revision: BigInt(row.revision) }));
};

/**
 * SQL true when an approved subscription of organisation `$org` lets it see an event of
 * `programColumn` in category `categoryColumn` (the template set imports that category).
 */
export const subscribedToEvent = (org: string, programColumn: string, categoryColumn: string) => `
  EXISTS (SELECT 1 FROM hub_subscriptions s
           WHERE NOT s.deleted AND s.approval = 'approved'
             AND s.subscriber_organisation_id = ${org}
             AND s.publisher_program_id = ${programColumn}
             AND (${categoryColumn} = ANY (s.import_categories)
                  OR (s.default_import AND NOT coalesce(${categoryColumn} = ANY (s.ignore_categories), false))))`;

/** Whether the organisation has an approved subscription that imports this program's category. */
export const isSubscribedTo = async (
  db: SqlExecutor,
  organisationId: string,
  programId: string,
  categoryValue: string | null,
): Promise<boolean> => {
  const { rows } = await db.query<{ subscribed: boolean }>(
    `SELECT ${subscribedToEvent('$1', '$2', '$3::text')} AS subscribed`,
    [organisationId, programId, categoryValue],
  );
  return rows[0]?.subscribed === true;
};
