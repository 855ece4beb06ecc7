import { DynamicModule, Module, Type } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { HUB_CONFIG, HubConfig } from './config/hub-config';
import { StorageModule } from './event-store/storage.module';
import { HealthModule } from './health/health.module';

/**
 * The hub. @nestjs/cqrs only dispatches commands and queries in process; events are stored and
 * projected through the event store and the projection engine, never its in-memory EventBus.
 */
@Module({})
export class AppModule {
  static forRoot(config: HubConfig, extraModules: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [CqrsModule.forRoot(), StorageModule, HealthModule, ...extraModules],
      providers: [{ provide: HUB_CONFIG, useValue: config }],
      exports: [HUB_CONFIG],
    };
  }
}
