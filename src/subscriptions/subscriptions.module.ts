import { Module } from '@nestjs/common';
import { LiveStreams } from './live-streams';
import { SubscriptionAccess } from './subscription-access';
import { SubscriptionDeliveryController } from './subscription-delivery.controller';
import { ActOnSubscriptionHandler, CreateSubscriptionHandler } from './subscriptions.commands';
import { SubscriptionsController } from './subscriptions.controller';
import { TemplateConverter } from './template-renderer';
import { WebhookDispatcher } from './webhook-dispatcher';

@Module({
  controllers: [SubscriptionsController, SubscriptionDeliveryController],
  providers: [
    SubscriptionAccess,
    LiveStreams,
    WebhookDispatcher,
    CreateSubscriptionHandler,
    ActOnSubscriptionHandler,
    // One render pool per process, shut down with the module.
    TemplateConverter,
  ],
  exports: [LiveStreams, TemplateConverter],
})
export class SubscriptionsModule {}
