import { Global, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { HUB_CONFIG, HubConfig } from '../config/hub-config';
import { loadAdminToken, LocalAdminToken } from './admin-token';
import { AuthGuard } from './auth.guard';
import { ADMIN_TOKEN, Authenticator, JWT_VERIFIER, LOCAL_ADMIN_TOKEN } from './authenticator';
import { JwtVerifier } from './jwt-verifier';

@Global()
@Module({
  providers: [
    {
      provide: ADMIN_TOKEN,
      inject: [HUB_CONFIG],
      useFactory: (config: HubConfig) => {
        const logger = new Logger('Auth');
        return loadAdminToken(config, (message) => {
          // Printed plainly rather than as a JSON log line: a person reads it once at first start.
          process.stdout.write(`\n${message}\n`);
          logger.warn('A system-admin token was generated and printed to the console');
        });
      },
    },
    {
      provide: JWT_VERIFIER,
      inject: [HUB_CONFIG],
      useFactory: (config: HubConfig) => (config.oidc ? new JwtVerifier(config.oidc) : null),
    },
    {
      // Only an embedded DATA_DIR has one owner the CLI must go through; see main.ts.
      provide: LOCAL_ADMIN_TOKEN,
      inject: [HUB_CONFIG],
      useFactory: (config: HubConfig) =>
        config.storage.kind === 'embedded' ? new LocalAdminToken() : null,
    },
    Authenticator,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator],
})
export class AuthModule {}
