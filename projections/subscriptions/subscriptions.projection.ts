import {
  categoryRules,
  evolveSubscription,
  SUBSCRIPTION_STREAM_PREFIX,
  SubscriptionEvent,
  SubscriptionState,
} from '../../src/subscriptions/subscription.events';
import { defineProjection, HandlersOf, ProjectionHandler } from '../engine/projection';
import {
  SUBSCRIPTION_COLUMNS,
  SUBSCRIPTION_SELECT,
  SubscriptionDbRow,
  toSubscriptionState,
} from './subscription-row';
import { SUBSCRIPTIONS_READ_MODEL } from './subscriptions.query';

const schema = `
CREATE TABLE IF NOT EXISTS hub_subscriptions (
  subscription_id text PRIMARY KEY,
  subscriber_program_id text NOT NULL,
  subscriber_organisation_id text NOT NULL,
  publisher_program_id text NOT NULL,
  publisher_organisation_id text NOT NULL,
  name text,
  approval text NOT NULL,
  enabled boolean NOT NULL,
  templates jsonb NOT NULL,
  -- The template set as filters: categories imported, categories ignored, what the rest do.
  import_categories text[] NOT NULL,
  ignore_categories text[] NOT NULL,
  default_import boolean NOT NULL,
  webhook jsonb,
  secret_ids text[] NOT NULL,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  -- A deleted subscription keeps its row (and revision), so a replayed event cannot revive it.
  deleted boolean NOT NULL DEFAULT false,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS hub_subscriptions_subscriber
  ON hub_subscriptions (subscriber_organisation_id, publisher_program_id);
CREATE INDEX IF NOT EXISTS hub_subscriptions_publisher
  ON hub_subscriptions (publisher_organisation_id, approval);
`;

const NO_SUBSCRIPTION: SubscriptionState = { exists: false, deleted: false };

/**
 * One row per subscription, folded with the write model's own evolve (in the events module) from
 * the row as it stands:
 * the read model cannot drift from what the decider sees.
 */
const apply: ProjectionHandler<SubscriptionEvent> = async (event, tx) => {
  const id = event.data.subscriptionId;
  const { rows } = await tx.query<SubscriptionDbRow>(
    `SELECT ${SUBSCRIPTION_SELECT}, deleted FROM hub_subscriptions WHERE subscription_id = $1`,
    [id],
  );
  const row = rows[0];
  if (row && (row.deleted || BigInt(row.revision) >= event.revision)) return;
  const before = row ? toSubscriptionState(row) : NO_SUBSCRIPTION;
  const after = evolveSubscription(before, event);
  if (!after.exists) {
    await tx.query(
      'UPDATE hub_subscriptions SET deleted = true, revision = $2 WHERE subscription_id = $1',
      [id, event.revision.toString()],
    );
    return;
  }
  const rules = categoryRules(after.templates);
  await tx.query(
    `INSERT INTO hub_subscriptions (${SUBSCRIPTION_COLUMNS})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     ON CONFLICT (subscription_id) DO UPDATE SET name = $6, approval = $7, enabled = $8,
       templates = $9, import_categories = $10, ignore_categories = $11, default_import = $12,
       webhook = $13, secret_ids = $14, updated_at = $17, revision = $18
     WHERE hub_subscriptions.revision < $18`,
    [
      after.subscriptionId,
      after.subscriberProgramId,
      after.subscriberOrganisationId,
      after.publisherProgramId,
      after.publisherOrganisationId,
      after.name,
      after.approval,
      after.enabled,
      JSON.stringify(after.templates),
      rules.importCategories,
      rules.ignoreCategories,
      rules.defaultImport,
      after.webhook === null ? null : JSON.stringify(after.webhook),
      after.secretIds,
      after.createdBy,
      after.createdAt,
      after.updatedAt,
      event.revision.toString(),
    ],
  );
};

export const subscriptionsProjection = defineProjection<SubscriptionEvent>({
  name: SUBSCRIPTIONS_READ_MODEL,
  version: 1,
  schema,
  tables: ['hub_subscriptions'],
  streamNamePrefixes: [SUBSCRIPTION_STREAM_PREFIX],
  handlers: {
    SubscriptionCreated: apply,
    SubscriptionApproved: apply,
    SubscriptionRejected: apply,
    SubscriptionChanged: apply,
    SubscriptionPaused: apply,
    SubscriptionResumed: apply,
    SubscriptionReplayed: apply,
    SubscriptionDeleted: apply,
    WebhookSecretAdded: apply,
    WebhookSecretRevoked: apply,
  } satisfies Required<HandlersOf<SubscriptionEvent>>,
});
