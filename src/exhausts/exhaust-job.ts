import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Actor } from '../auth/principal';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { FILE_STORAGE, FileStorage } from '../files/file-storage.port';
import { zipReport } from '../files/report-zip';
import { Job, JobContext, JobHandler, JobLeaseLostError, PermanentJobError } from '../jobs/job';
import { JobRunner } from '../jobs/job-runner';
import { Jobs } from '../jobs/jobs';
import { CLOCK, Clock } from '../time/clock';
import { exhaustRequestDecider, ExhaustRequestCommand } from './exhaust-request.decider';
import { jobRequestView, readExhaustRequest } from './exhaust-request.view';
import { ExhaustFile, exhaustRequestStream } from './exhaust-request.events';
import { ExhaustMail } from './exhaust-mail';
import { ExhaustSecrets } from './exhaust-secrets';
import { ExhaustBatch, ExhaustSources } from './exhaust-sources';
import { courseProgressReportFile } from './reports/course-progress-report';
import { csvReadable } from './reports/csv-writer';
import { exhaustFileName, ExhaustType } from './reports/exhaust-types';
import { progressExhaustFile } from './reports/progress-exhaust';
import { ReportFile } from './reports/report-inputs';
import { responseExhaustFile } from './reports/response-exhaust';
import { userinfoExhaustFile } from './reports/userinfo-exhaust';

export const EXHAUST_JOB = 'exhaust';
/** The reference's three iterations: a request that failed three runs stays failed. */
const MAX_RUNS = 3;
/** Progress is recorded every this many rows, not per row. */
const PROGRESS_EVERY = 5_000;

/** What a report job carries: the request, and its password sealed while it waits. */
export interface ExhaustJobPayload {
  type: ExhaustType;
  batchIds: string[];
  sealedKey: string | null;
}

const isPayload = (payload: unknown): payload is ExhaustJobPayload =>
  typeof payload === 'object' &&
  payload !== null &&
  'type' in payload &&
  'batchIds' in payload &&
  Array.isArray(payload.batchIds);

/** The reference's words for a user-info report of a course that does not ask for consent. */
export const USERINFO_NOT_APPLICABLE =
  "Invalid request. User info exhaust is not applicable for collections which don't request for user consent to share data";

/**
 * Makes a report request's files on the job runner: one zip per batch that has anything to
 * report, streamed from the read models through CSV and zip into the file storage, then the
 * outcome recorded on the request's stream. Any instance may run it; a dead one's job is taken
 * over and made again from the start (files are replaced whole).
 */
@Injectable()
export class ExhaustJob implements JobHandler, OnModuleInit {
  readonly kind = EXHAUST_JOB;
  readonly maxAttempts = MAX_RUNS;
  readonly needsMemoryRoom = true;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(FILE_STORAGE) private readonly files: FileStorage,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(HUB_CONFIG) private readonly config: HubConfig,
    private readonly sources: ExhaustSources,
    private readonly secrets: ExhaustSecrets,
    private readonly runner: JobRunner,
    private readonly jobs: Jobs,
    private readonly mail: ExhaustMail,
  ) {}

  onModuleInit(): void {
    this.runner.register(this);
  }

  async run(job: Job, context: JobContext): Promise<unknown> {
    if (!isPayload(job.payload)) throw new PermanentJobError('The report request is malformed');
    try {
      return await this.make(job, job.payload, context);
    } catch (error) {
      // Each failed run is one of the reference's iterations, recorded as it happens; the runner
      // then tries again. A run this instance lost (cancelled, taken over) is not a failure.
      if (!(error instanceof JobLeaseLostError) && !context.signal.aborted) {
        const message = error instanceof Error ? error.message : String(error);
        await this.decide(job, {
          type: 'FailExhaust',
          requestId: job.id,
          error: message,
          now: this.now(),
        });
      }
      throw error;
    }
  }

  private async make(job: Job, payload: ExhaustJobPayload, context: JobContext): Promise<unknown> {
    const { type, batchIds, sealedKey } = payload;
    const startedAt = Date.now();
    await this.decide(job, { type: 'StartExhaust', requestId: job.id, now: this.now() });
    const key = sealedKey === null ? undefined : await this.secrets.open(sealedKey);
    const made: ExhaustFile[] = [];
    const skipped: string[] = [];
    let rows = 0;
    for (const batchId of batchIds) {
      const batch = await this.sources.batch(batchId, job.organisationId);
      const file = batch && (await this.makeFile(job, type, batch, key, context, rows));
      if (context.signal.aborted) return null;
      if (!file) skipped.push(batchId);
      else {
        made.push(file);
        rows += file.rows;
      }
    }
    await this.decide(job, {
      type: 'FinishExhaust',
      requestId: job.id,
      files: made,
      skippedBatchIds: skipped,
      now: this.now(),
      executionMs: Date.now() - startedAt,
    });
    if (made.length === 0) throw new PermanentJobError('No data found');
    const state = await readExhaustRequest(this.store, job.id);
    if (state.exists) await this.mail.ready(state);
    // The password has done its work: nothing keeps it once the files are made.
    if (sealedKey !== null) await this.jobs.replacePayload(job.id, { ...payload, sealedKey: null });
    return { files: made.length, rows };
  }

  async describe(job: Job): Promise<unknown> {
    const state = await readExhaustRequest(this.store, job.id);
    return state.exists ? jobRequestView(state, job.progress.done) : undefined;
  }

  async failed(job: Job, error: string): Promise<void> {
    await this.decide(job, { type: 'FailExhaust', requestId: job.id, error, now: this.now() });
    const state = await readExhaustRequest(this.store, job.id);
    if (state.exists) await this.mail.failed(state);
  }

  /** One batch's zip; null when the batch has no active learner. */
  private async makeFile(
    job: Job,
    type: ExhaustType,
    batch: ExhaustBatch,
    encryptionKey: string | undefined,
    context: JobContext,
    rowsBefore: number,
  ): Promise<ExhaustFile | null> {
    const { report } = batch;
    if (type === 'userinfo-exhaust' && !batch.userConsent)
      throw new PermanentJobError(USERINFO_NOT_APPLICABLE);
    const learners = this.sources.learners(report, {
      personalData: type === 'course-progress-report' || type === 'userinfo-exhaust',
      signal: context.signal,
    });
    const file = this.reportOf(type, batch, learners);
    let rows = 0;
    const csv = csvReadable(file.header, file.rows, {
      onRow: () => {
        rows += 1;
        // Progress is advisory: a lost lease shows at the next checkpoint or at the end.
        if (rows % PROGRESS_EVERY === 0)
          context.reportProgress(rowsBefore + rows, null).catch(() => undefined);
      },
    });
    const day = this.clock.now();
    const name = exhaustFileName(type, report.batchId, day, this.config.timeZone);
    const key = `${type}/${job.id}/${name}`;
    const stored = await this.files.put(
      key,
      zipReport(csv, {
        entryName: name.replace(/\.zip$/, '.csv'),
        ...(encryptionKey === undefined ? {} : { encryptionKey }),
        modifiedAt: day,
      }),
    );
    if (rows === 0) {
      await this.files.delete(key);
      return null;
    }
    await context.reportProgress(rowsBefore + rows, null);
    return { batchId: report.batchId, key, bytes: stored.bytes, rows };
  }

  private reportOf(
    type: ExhaustType,
    batch: ExhaustBatch,
    learners: ReturnType<ExhaustSources['learners']>,
  ): ReportFile {
    switch (type) {
      case 'progress-exhaust':
        return progressExhaustFile(
          batch.report,
          mapAsync(learners, (l) => ({ ...l, board: null })),
        );
      case 'course-progress-report':
        return courseProgressReportFile(batch.report, learners);
      case 'userinfo-exhaust':
        return userinfoExhaustFile(batch.report, learners);
      case 'response-exhaust':
        return responseExhaustFile(batch.report, this.sources.attempts(batch.report));
      default: {
        const unknownType: never = type;
        throw new PermanentJobError(`Unknown report type ${String(unknownType)}`);
      }
    }
  }

  private async decide(job: Job, command: ExhaustRequestCommand): Promise<void> {
    const actor: Actor = { userId: job.requestedBy, organisationId: job.organisationId, roles: [] };
    await handleCommand(this.store, exhaustRequestStream(job.id), exhaustRequestDecider, command, {
      metadata: actorMetadata(actor),
    });
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

async function* mapAsync<In, Out>(
  source: AsyncIterable<In>,
  map: (item: In) => Out,
): AsyncGenerator<Out> {
  for await (const item of source) yield map(item);
}
