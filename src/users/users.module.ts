import { Module } from '@nestjs/common';
import { PersonalDataVault } from './personal-data-vault';
import { UserProfiles } from './users.lookups';
import { ErasePersonalDataHandler, RecordUserProfileHandler } from './users.commands';
import { UsersController } from './users.controller';

@Module({
  controllers: [UsersController],
  providers: [PersonalDataVault, UserProfiles, RecordUserProfileHandler, ErasePersonalDataHandler],
  exports: [PersonalDataVault, UserProfiles],
})
export class UsersModule {}
