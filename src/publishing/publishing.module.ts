import { Module } from '@nestjs/common';
import {
  AmendEventHandler,
  PublishEventsHandler,
  RetractEventHandler,
} from './publishing.commands';
import { PublishingController } from './publishing.controller';

@Module({
  controllers: [PublishingController],
  providers: [PublishEventsHandler, AmendEventHandler, RetractEventHandler],
})
export class PublishingModule {}
