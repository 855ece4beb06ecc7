import { Inject, Injectable } from '@nestjs/common';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ErasedEventCopies } from '../publishing/erased-events.port';
import { purgeErasedEvents } from './delivery-records';

/** Webhook deliveries are copies of events: an erasure takes the erased ones out of them all. */
@Injectable()
export class ErasedDeliveries implements ErasedEventCopies {
  constructor(@Inject(SQL_DATABASE) private readonly db: SqlDatabase) {}

  forget(eventIds: readonly string[]): Promise<number> {
    return purgeErasedEvents(this.db, eventIds);
  }
}
