import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { HUB_CONFIG, HubConfig, TemplateBudgetConfig } from '../config/hub-config';
import { RecordedEvent } from '../event-store/event-store.port';
import { FeedItem, planFeedItem, TemplateRun } from './feed-items';
import { TemplateSet } from './subscription.events';
import { conversionOf, itemLimits } from './template-conversion';
import { RenderPool, RenderTicket } from './template-pool';

export interface ConvertedPage {
  /** items[i] is what events[i] becomes; null: the subscriber ignores that event. */
  items: (FeedItem | null)[];
  /** How many events, from the first, were handled: fewer than all once the page budget ran out. */
  converted: number;
}

/**
 * What one page of items may spend on rendering: time and characters of output, its items'
 * together. Once spent, the page ends after the item that spent it; the events after it are
 * left for the next page. Pass one budget to every convertPage call of a page.
 */
export class PageBudget {
  private renderMs = 0;
  private outputChars = 0;

  constructor(
    readonly maxMs: number,
    readonly maxChars: number,
  ) {}

  get spent(): boolean {
    return this.renderMs >= this.maxMs || this.outputChars >= this.maxChars;
  }

  charge(renderMs: number, outputChars: number): void {
    this.renderMs += renderMs;
    this.outputChars += outputChars;
  }
}

/**
 * Converts recorded events into a subscription's feed items, rendering its templates in a pool
 * of worker threads (one pool per process) within the HUB_TEMPLATE_* budgets: each item within
 * its own (over it, the item carries a conversionError), each page within the page's.
 */
@Injectable()
export class TemplateConverter implements OnModuleDestroy {
  private readonly budgets: TemplateBudgetConfig;
  private readonly pool: RenderPool;
  private readonly logger = new Logger('Templates');

  constructor(@Inject(HUB_CONFIG) config: Pick<HubConfig, 'clearinghouse'>) {
    this.budgets = config.clearinghouse.templates;
    this.pool = new RenderPool({
      workers: this.budgets.workers,
      limits: itemLimits(this.budgets),
      memoryMb: this.budgets.workerMemoryMb,
      quarantineMs: this.budgets.quarantineMs,
      warn: (message, context) => this.logger.warn(message, context),
    });
  }

  newPageBudget(): PageBudget {
    return new PageBudget(this.budgets.pageTimeoutMs, this.budgets.pageMaxChars);
  }

  /** The pool's workers, how many were terminated for overrunning, items waiting. */
  get stats() {
    return this.pool.stats;
  }

  /**
   * Converts one subscription's events, in order, within the page budget. `caller` (the
   * subscription id) is whose turn it is in the pool: callers take turns. The first event is
   * always handled unless the budget was spent by an earlier call.
   */
  async convertPage(
    events: readonly RecordedEvent[],
    templates: TemplateSet,
    caller: string,
    budget: PageBudget = this.newPageBudget(),
  ): Promise<ConvertedPage> {
    if (budget.spent) return { items: [], converted: 0 };
    const planned = events.map((event) => planFeedItem(event, templates));
    const tickets = planned.map((plan) => (plan?.run ? this.render(caller, plan.run) : null));
    const items: (FeedItem | null)[] = [];
    try {
      for (const [index, plan] of planned.entries()) {
        if (budget.spent) break;
        const ticket = tickets[index];
        if (!plan?.run || !ticket) {
          items.push(plan?.item ?? null);
          continue;
        }
        const { outcome, renderMs } = await ticket.result;
        budget.charge(renderMs, outcome.kind === 'rendered' ? outcome.output.length : 0);
        items.push({ ...plan.item, ...conversionOf(outcome) });
      }
    } finally {
      for (const ticket of tickets.slice(items.length)) ticket?.cancel();
    }
    return { items, converted: items.length };
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }

  private render(caller: string, run: TemplateRun): RenderTicket {
    const ticket = this.pool.render(caller, run);
    // Awaited in order, or never once the page has ended: a rejection must not go unhandled.
    ticket.result.catch(() => undefined);
    return ticket;
  }
}
