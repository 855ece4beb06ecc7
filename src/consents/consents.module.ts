import { Module } from '@nestjs/common';
import { GrantConsentHandler, RevokeConsentHandler } from './consents.commands';
import { ConsentsController } from './consents.controller';

@Module({
  controllers: [ConsentsController],
  providers: [GrantConsentHandler, RevokeConsentHandler],
})
export class ConsentsModule {}
