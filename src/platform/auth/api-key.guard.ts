import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { adoptCallerRequestId } from '../http/correlation-id';
import { AppConfig } from '../config/app-config';
import { Actor, hashApiKey, Role, ROLES, ROLES_KEY } from './api-key';
import { ApiKeyRepository } from './api-key.repository';

export type AuthenticatedRequest = FastifyRequest & {
  actor?: Actor;
  /** The caller found by the early key check (checkApiKeysBeforeBodies), before the body was read. */
  authenticated?: Actor;
};

export const MISSING_KEY_MESSAGE = 'a valid API key is required (Authorization: Bearer <key>)';

/**
 * `Authorization: Bearer <key>`: 401 without a valid key, 403 for a key whose role the route does not
 * allow. Keys are looked up by hash (never stored in plain); bootstrap keys from the environment are
 * compared in constant time.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly bootstrap: Array<{ hash: Buffer; role: Role; name: string }>;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyRepository,
    config: AppConfig,
  ) {
    this.bootstrap = ROLES.flatMap((role) =>
      config.bootstrapApiKeys[role].map((key, index) => ({
        hash: hashApiKey(key),
        role,
        name: `env:${role}:${index + 1}`,
      })),
    );
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!allowed) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const actor = request.authenticated ?? (await this.authenticate(request.headers.authorization));
    if (!actor) throw new UnauthorizedException(MISSING_KEY_MESSAGE);
    if (!allowed.includes(actor.role))
      throw new ForbiddenException(`this route needs the ${allowed.join(' or ')} role`);
    // Authenticated: a sane X-Request-Id the caller sent becomes the correlation id from here on.
    adoptCallerRequestId(request);
    request.actor = { ...actor, correlationId: String(request.id) };
    return true;
  }

  async authenticate(header: string | undefined): Promise<Actor | null> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return null;
    const hash = hashApiKey(match[1]);
    let found: { role: Role; name: string } | undefined;
    for (const candidate of this.bootstrap) {
      if (timingSafeEqual(candidate.hash, hash)) found = candidate;
    }
    if (found) return { keyId: null, name: found.name, role: found.role };
    const stored = await this.keys.findActiveByHash(hash);
    return stored ? { keyId: stored.id, name: stored.name, role: stored.role } : null;
  }
}
