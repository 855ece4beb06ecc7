import { Global, Module } from '@nestjs/common';
import { ProgramDirectory } from './programs.lookups';
import { RegisterProgramHandler, UpdateProgramHandler } from './programs.commands';
import { ProgramsController } from './programs.controller';

@Global()
@Module({
  controllers: [ProgramsController],
  providers: [ProgramDirectory, RegisterProgramHandler, UpdateProgramHandler],
  exports: [ProgramDirectory],
})
export class ProgramsModule {}
