import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { FILE_STORAGE } from '../files/file-storage.port';
import { FolderStorage } from '../files/folder-storage';
import { UsersModule } from '../users/users.module';
import { DownloadRatios } from './download-ratios';
import { ExhaustDownloads } from './exhaust-downloads';
import { ExhaustJob } from './exhaust-job';
import { ExhaustMail } from './exhaust-mail';
import { ExhaustSecrets } from './exhaust-secrets';
import { ExhaustSources } from './exhaust-sources';
import { RequestExhaustHandler } from './exhausts.commands';
import { ExhaustsController } from './exhausts.controller';

/** Reports of batches: requests, the job that makes their files, and the downloads. */
@Module({
  imports: [UsersModule],
  controllers: [ExhaustsController],
  providers: [
    {
      provide: FILE_STORAGE,
      inject: [HUB_CONFIG],
      useFactory: (config: HubConfig) =>
        // Without exhaust settings (a hub built by hand, in tests), files go to the temp folder.
        new FolderStorage(config.exhausts?.dir ?? join(tmpdir(), 'learning-hub-exhaust')),
    },
    ExhaustSecrets,
    ExhaustSources,
    ExhaustDownloads,
    DownloadRatios,
    ExhaustMail,
    ExhaustJob,
    RequestExhaustHandler,
  ],
})
export class ExhaustsModule {}
