import { Module } from '@nestjs/common';
import { API_KEY_COMMAND_HANDLERS } from './api-keys.commands';
import { ApiKeysController } from './api-keys.controller';

@Module({ controllers: [ApiKeysController], providers: [...API_KEY_COMMAND_HANDLERS] })
export class ApiKeysModule {}
