import { Module } from '@nestjs/common';
import { PersonalDataVault } from './personal-data-vault';
import { ErasePersonalDataHandler, RecordUserProfileHandler } from './users.commands';
import { UsersController } from './users.controller';

@Module({
  controllers: [UsersController],
  providers: [PersonalDataVault, RecordUserProfileHandler, ErasePersonalDataHandler],
  exports: [PersonalDataVault],
})
export class UsersModule {}
