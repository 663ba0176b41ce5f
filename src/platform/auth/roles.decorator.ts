import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Actor, Role, ROLES_KEY } from './api-key';
import { ApiKeyGuard, AuthenticatedRequest } from './api-key.guard';

/** The route needs an API key of one of these roles. */
export const Roles = (...roles: Role[]) =>
  applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    UseGuards(ApiKeyGuard),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'no valid API key' }),
    ApiForbiddenResponse({ description: `the key's role is not one of: ${roles.join(', ')}` }),
  );

/** The authenticated caller (set by ApiKeyGuard). */
export const CurrentActor = createParamDecorator((_: unknown, context: ExecutionContext): Actor => {
  const actor = context.switchToHttp().getRequest<AuthenticatedRequest>().actor;
  if (!actor) throw new Error('CurrentActor used on a route without @Roles');
  return actor;
});
