import { Module } from '@nestjs/common';
import {
  AddGroupActivityHandler,
  AddGroupMemberHandler,
  PutGroupHandler,
  RemoveGroupActivityHandler,
  RemoveGroupMemberHandler,
} from './groups.commands';
import { UsersModule } from '../users/users.module';
import { GroupActivityReader } from './group-activity';
import { GroupActivityController } from './group-activity.controller';
import { GroupsController } from './groups.controller';

/** Groups (written by a groups service or by hand) and how each does on its activities. */
@Module({
  imports: [UsersModule],
  controllers: [GroupsController, GroupActivityController],
  providers: [
    GroupActivityReader,
    PutGroupHandler,
    AddGroupMemberHandler,
    RemoveGroupMemberHandler,
    AddGroupActivityHandler,
    RemoveGroupActivityHandler,
  ],
})
export class GroupsModule {}
