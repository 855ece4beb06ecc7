import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Role, ROLES } from '../auth/principal';
import { UserProfileView } from '../users/users.dto';

export class CredentialView {
  @ApiProperty({ enum: ['api-key', 'jwt', 'admin-token'] })
  kind!: 'api-key' | 'jwt' | 'admin-token';

  @ApiPropertyOptional({ description: 'The API key’s id, when the credential is an API key' })
  keyId?: string;
}

export class MeView {
  @ApiProperty({ description: 'The principal: an API key’s principalId, a JWT’s sub' })
  userId!: string;

  @ApiProperty() organisationId!: string;

  @ApiProperty({ enum: ROLES, isArray: true }) roles!: Role[];

  @ApiProperty({ type: CredentialView }) credential!: CredentialView;

  @ApiProperty({
    type: UserProfileView,
    nullable: true,
    description:
      'The caller’s profile, personal data included, when the hub has one for them in their organisation',
  })
  profile!: UserProfileView | null;
}
