import { HUB_METRICS, HubMetrics } from '../metrics/hub-metrics';
import { TemplateConverter } from './template-renderer';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
  Optional,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { Leadership, tryLead } from '../coordination/leadership';
import { deliveringWebhookSubscriptions } from '../../projections/subscriptions/subscriptions.query';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { FieldIssue } from '../errors/hub-error';
import { WakeSignal } from '../coordination/wake-signal';
import { generations } from './delivery-records';
import { WebhookWorker } from './webhook-delivery';
import {
  ResolveHost,
  systemResolve,
  WEBHOOK_HOST_RESOLVER,
  WebhookDestinations,
} from './webhook-destination';

const LEADERSHIP = 'webhook-delivery';
const POLL_MS = 500;
const STANDBY_RETRY_MS = 2_000;

/**
 * Runs the webhook deliveries of every subscription that has one, on one instance at a time
 * (an advisory lock, as projections have). Every half second it looks at the subscriptions and
 * their positions: new ones start, stopped ones end, and a change, a replay or a redelivery
 * request restarts that subscription's worker from its stored position.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private readonly abort = new AbortController();
  private readonly workers = new Map<
    string,
    { worker: WebhookWorker; revision: bigint; generation: bigint }
  >();
  private loop: Promise<void> | null = null;
  private readonly wake = new WakeSignal();
  /** One policy for saving webhook URLs and for connecting to them. */
  private readonly destinations: WebhookDestinations;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly converter: TemplateConverter,
    @Inject(HUB_METRICS) private readonly metrics: HubMetrics,
    @Optional() @Inject(WEBHOOK_HOST_RESOLVER) resolve: ResolveHost | null = null,
  ) {
    this.destinations = new WebhookDestinations(
      config.clearinghouse.webhooks.allowPrivateNetworks,
      resolve ?? systemResolve,
    );
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.destinations.close();
  }

  /** What is wrong with a webhook URL about to be saved (its name is resolved and checked). */
  webhookUrlIssues(url: string): Promise<FieldIssue[]> {
    return this.destinations.issuesOf(url);
  }

  /** Look again now rather than at the next poll (this instance changed something). */
  nudge(): void {
    this.wake.notify();
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    while (!signal.aborted) {
      let leadership: Leadership | null = null;
      try {
        leadership = await tryLead(this.db, LEADERSHIP);
        if (!leadership) {
          await sleep(STANDBY_RETRY_MS, undefined, { signal }).catch(() => undefined);
          continue;
        }
        let lastCheck = Date.now();
        while (!signal.aborted) {
          if (Date.now() - lastCheck > 5_000) {
            if (!(await leadership.stillHeld())) break;
            lastCheck = Date.now();
          }
          const seen = this.wake.generation;
          await this.reconcile();
          await this.wake.wait(seen, POLL_MS, signal);
        }
      } catch (error) {
        this.logger.error('Webhook dispatcher failed; retrying', {
          error: error instanceof Error ? error.message : String(error),
        });
        await sleep(STANDBY_RETRY_MS, undefined, { signal }).catch(() => undefined);
      } finally {
        await this.stopAll();
        await leadership?.release();
      }
    }
  }

  private async reconcile(): Promise<void> {
    const [subscriptions, positions] = await Promise.all([
      deliveringWebhookSubscriptions(this.db),
      generations(this.db),
    ]);
    const wanted = new Set<string>();
    for (const subscription of subscriptions) {
      const id = subscription.subscriptionId;
      wanted.add(id);
      const generation = positions.get(id) ?? 0n;
      const running = this.workers.get(id);
      if (!running) {
        const worker = new WebhookWorker(subscription, {
          db: this.db,
          store: this.store,
          config: this.config.clearinghouse.webhooks,
          logger: { warn: (message, context) => this.logger.warn(message, context) },
          destinations: this.destinations,
          converter: this.converter,
          onAttempt: (outcome) => {
            this.metrics.webhookAttempts.inc({ outcome });
            if (outcome === 'dead-lettered') this.metrics.webhookDeadLetters.inc();
          },
        });
        this.workers.set(id, { worker, revision: subscription.revision, generation });
        worker.start();
      } else if (running.revision !== subscription.revision || running.generation !== generation) {
        running.revision = subscription.revision;
        running.generation = generation;
        running.worker.restart(subscription);
      }
    }
    for (const [id, running] of this.workers)
      if (!wanted.has(id)) {
        this.workers.delete(id);
        await running.worker.stop();
      }
  }

  private async stopAll(): Promise<void> {
    const running = [...this.workers.values()];
    this.workers.clear();
    await Promise.all(running.map(({ worker }) => worker.stop()));
  }
}
