import { Module } from '@nestjs/common';
import { BatchStatusScheduler } from './batch-status-scheduler';
import { CreateBatchHandler, UpdateBatchHandler } from './batches.commands';
import { BatchesController } from './batches.controller';

@Module({
  controllers: [BatchesController],
  providers: [CreateBatchHandler, UpdateBatchHandler, BatchStatusScheduler],
})
export class BatchesModule {}
