import { Module } from '@nestjs/common';
import {
  AmendEventHandler,
  PublishEventsHandler,
  RetractEventHandler,
} from './publishing.commands';
import { PublishingController } from './publishing.controller';
import { EraseParticipantHandler } from './participant-erasure.commands';

@Module({
  controllers: [PublishingController],
  providers: [
    PublishEventsHandler,
    AmendEventHandler,
    RetractEventHandler,
    EraseParticipantHandler,
  ],
})
export class PublishingModule {}
