import { ActiveSubscription } from '../../src/subscriptions/subscription.events';

export const SUBSCRIPTION_COLUMNS = `subscription_id, subscriber_program_id, subscriber_organisation_id, publisher_program_id,
  publisher_organisation_id, name, approval, enabled, templates, import_categories, ignore_categories,
  default_import, webhook, secret_ids, created_by, created_at, updated_at, revision`;

export interface SubscriptionDbRow {
  subscription_id: string;
  subscriber_program_id: string;
  subscriber_organisation_id: string;
  publisher_program_id: string;
  publisher_organisation_id: string;
  name: string | null;
  approval: ActiveSubscription['approval'];
  enabled: boolean;
  templates: ActiveSubscription['templates'];
  import_categories: string[];
  ignore_categories: string[];
  default_import: boolean;
  webhook: ActiveSubscription['webhook'];
  secret_ids: string[];
  created_by: string;
  created_at: Date;
  updated_at: Date;
  revision: string;
  [column: string]: unknown;
}

/** The columns to select, for queries that build states from rows. */
export const SUBSCRIPTION_SELECT = SUBSCRIPTION_COLUMNS.replace(
  'revision',
  'revision::text AS revision',
);

export const toSubscriptionState = (row: SubscriptionDbRow): ActiveSubscription => ({
  exists: true,
  subscriptionId: row.subscription_id,
  subscriberProgramId: row.subscriber_program_id,
  subscriberOrganisationId: row.subscriber_organisation_id,
  publisherProgramId: row.publisher_program_id,
  publisherOrganisationId: row.publisher_organisation_id,
  name: row.name,
  templates: row.templates,
  enabled: row.enabled,
  webhook: row.webhook,
  approval: row.approval,
  secretIds: row.secret_ids,
  createdBy: row.created_by,
  createdAt: new Date(row.created_at).toISOString(),
  updatedAt: new Date(row.updated_at).toISOString(),
});
