import { Global, Module } from '@nestjs/common';
import { API_KEY_RESOLVER } from '../auth/api-key-resolver';
import { ApiKeyPrincipals } from './api-key-principals';
import { API_KEY_COMMAND_HANDLERS } from './api-keys.commands';
import { ApiKeysController } from './api-keys.controller';

/** Global so that authentication, which knows only the resolver port, finds the keys' principals. */
@Global()
@Module({
  controllers: [ApiKeysController],
  providers: [
    ...API_KEY_COMMAND_HANDLERS,
    ApiKeyPrincipals,
    { provide: API_KEY_RESOLVER, useExisting: ApiKeyPrincipals },
  ],
  exports: [API_KEY_RESOLVER],
})
export class ApiKeysModule {}
