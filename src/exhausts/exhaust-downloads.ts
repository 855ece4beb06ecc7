import { Inject, Injectable } from '@nestjs/common';
import { Actor } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { InvalidInputError, NotFoundError } from '../errors/hub-error';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { downloadUrl, SignedLinks } from '../files/signed-links';
import { CLOCK, Clock } from '../time/clock';
import { exhaustRequestDecider, ExhaustRequestState } from './exhaust-request.decider';
import { exhaustRequestStream } from './exhaust-request.events';
import { ExhaustSecrets } from './exhaust-secrets';

const DEFAULT_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000;

type Existing = Extract<ExhaustRequestState, { exists: true }>;

/**
 * Download links: signed, expiring capability URLs naming a request, a batch and who asked for
 * the link; opening one records the download (the events the download ratio is counted from).
 */
@Injectable()
export class ExhaustDownloads {
  private links: Promise<SignedLinks> | null = null;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly secrets: ExhaustSecrets,
  ) {}

  async link(state: Existing, batchId: string | undefined, userId: string) {
    const file = this.fileOf(state, batchId);
    const signed = (await this.signer()).sign(
      [state.request.requestId, file.batchId, userId].join('|'),
      this.config.exhausts?.linkTtlMs ?? DEFAULT_LINK_TTL_MS,
      this.clock.now(),
    );
    const base = this.config.exhausts?.publicUrl ?? `http://localhost:${this.config.port}`;
    return {
      batchId: file.batchId,
      url: downloadUrl(`${base}/v1/report-files`, signed),
      expiresAt: signed.expiresAt.toISOString(),
    };
  }

  /** The file a token names, once its download is recorded. */
  async open(token: string): Promise<{ key: string; name: string }> {
    const target = (await this.signer()).verify(token, this.clock.now());
    const [requestId = '', batchId = '', userId = ''] = target.split('|');
    const actor: Actor = { userId, organisationId: '', roles: [] };
    const outcome = await handleCommand(
      this.store,
      exhaustRequestStream(requestId),
      exhaustRequestDecider,
      {
        type: 'RecordExhaustDownload',
        requestId,
        batchId,
        downloadedBy: userId,
        now: this.clock.now().toISOString(),
      },
      { metadata: actorMetadata(actor) },
    );
    const [event] = outcome.events;
    if (event?.type !== 'ExhaustDownloaded') throw new Error('A download recorded nothing');
    return { key: event.data.key, name: event.data.key.split('/').pop() ?? 'report.zip' };
  }

  private fileOf(state: Existing, batchId: string | undefined) {
    if (state.status !== 'SUCCESS')
      throw new NotFoundError('FILE_NOT_FOUND', `The report is ${state.status}, not made yet`, {
        requestId: state.request.requestId,
      });
    if (batchId === undefined && state.files.length > 1)
      throw new InvalidInputError(
        'The report has a file per batch: name one with batchId',
        [{ field: 'batchId', message: `one of ${state.files.map((f) => f.batchId).join(', ')}` }],
        'INVALID_EXHAUST_REQUEST',
      );
    const file = state.files.find((made) => batchId === undefined || made.batchId === batchId);
    if (!file)
      throw new NotFoundError('FILE_NOT_FOUND', `No file for batch ${batchId ?? ''}`, {
        requestId: state.request.requestId,
      });
    return file;
  }

  private signer(): Promise<SignedLinks> {
    this.links ??= this.secrets.linkSecret().then((secret) => new SignedLinks(secret));
    return this.links;
  }
}
