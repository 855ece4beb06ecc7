import { Global, Module } from '@nestjs/common';
import { ERASED_EVENT_COPIES } from '../publishing/erased-events.port';
import { ErasedDeliveries } from './erased-deliveries';
import { LiveStreams } from './live-streams';
import { SubscriptionAccess } from './subscription-access';
import { SubscriptionDeliveryController } from './subscription-delivery.controller';
import { ActOnSubscriptionHandler, CreateSubscriptionHandler } from './subscriptions.commands';
import { SubscriptionsController } from './subscriptions.controller';
import { TemplateConverter } from './template-renderer';
import { WebhookDispatcher } from './webhook-dispatcher';

/** Global for the erased-event port only: publishing asks it without importing this module. */
@Global()
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
    { provide: ERASED_EVENT_COPIES, useClass: ErasedDeliveries },
  ],
  exports: [LiveStreams, TemplateConverter, ERASED_EVENT_COPIES],
})
export class SubscriptionsModule {}
