import { Inject, Injectable } from '@nestjs/common';
import { downloadCounts } from '../../projections/job-requests/job-requests.query';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ExhaustSources } from './exhaust-sources';
import { DownloadRatiosView, DownloadRatioView } from './exhausts.dto';

const ratioOf = (batches: number, downloads: number): DownloadRatioView => ({
  batches,
  downloads,
  ratio: batches === 0 ? null : Math.round((downloads / batches) * 100) / 100,
});

/** Sums per key: the batches reported on and the downloads of their files. */
const rollUp = <Key>(
  rows: ReadonlyArray<{ key: Key; downloads: number }>,
): Array<{ key: Key } & DownloadRatioView> => {
  const totals = new Map<Key, { batches: number; downloads: number }>();
  for (const row of rows) {
    const total = totals.get(row.key) ?? { batches: 0, downloads: 0 };
    totals.set(row.key, { batches: total.batches + 1, downloads: total.downloads + row.downloads });
  }
  return [...totals].map(([key, total]) => ({ key, ...ratioOf(total.batches, total.downloads) }));
};

/**
 * The download ratio (downloads ÷ batches) per batch, course, organisation and over all
 * courses, from the download events (the job-requests read model); a batch's course is read
 * from its stream, as the events name batches only.
 */
@Injectable()
export class DownloadRatios {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly sources: ExhaustSources,
  ) {}

  async of(filter: {
    organisationId: string | null;
    from?: string;
    to?: string;
  }): Promise<DownloadRatiosView> {
    const counts = await downloadCounts(this.db, filter);
    const batches = await Promise.all(
      counts.byBatch
        .filter((batch) => batch.files > 0 || batch.downloads > 0)
        .map(async (batch) => ({
          ...batch,
          courseId:
            (await this.sources.batch(batch.batchId, batch.organisationId))?.report.courseId ??
            null,
        })),
    );
    const byOrganisation = rollUp(
      batches.map((batch) => ({ key: batch.organisationId, downloads: batch.downloads })),
    );
    const byCourse = rollUp(
      batches.map((batch) => ({ key: batch.courseId, downloads: batch.downloads })),
    );
    return {
      allCourses: ratioOf(
        batches.length,
        batches.reduce((sum, batch) => sum + batch.downloads, 0),
      ),
      byOrganisation: byOrganisation.map(({ key, ...ratio }) => ({
        organisationId: key,
        ...ratio,
      })),
      byCourse: byCourse.map(({ key, ...ratio }) => ({ courseId: key, ...ratio })),
      byBatch: batches.map((batch) => ({
        batchId: batch.batchId,
        courseId: batch.courseId,
        files: batch.files,
        ...ratioOf(1, batch.downloads),
      })),
    };
  }
}
